/* Big screen (results/screen.html): move to the next slide every few seconds without a page
   reload. The next slide is fetched first; if the network or the server fails, the current
   slide stays on screen and the fetch is retried, so a projector never shows a browser error.
   Without JavaScript a <noscript> meta refresh does the cycling instead. */
(function () {
  "use strict";
  var body = document.body;
  if (!body || !body.classList.contains("screen") || !window.fetch || !window.DOMParser) {
    return;
  }
  var RETRY_SECONDS = 5;
  var timer = null;

  function seconds() {
    var value = parseInt(body.getAttribute("data-seconds"), 10);
    return value >= 5 ? value : 15;
  }

  function animate(duration) {
    var bar = document.getElementById("screen-progress");
    if (!bar) {
      return;
    }
    bar.style.transition = "none";
    bar.style.width = "0%";
    void bar.offsetWidth; // restart the transition
    bar.style.transition = "width " + duration + "s linear";
    bar.style.width = "100%";
  }

  function replace(doc, selector) {
    var current = document.querySelector(selector);
    var incoming = doc.querySelector(selector);
    if (current && incoming) {
      current.replaceWith(document.importNode(incoming, true));
    }
  }

  function show(html, url) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    if (!doc.body || !doc.body.classList.contains("screen")) {
      throw new Error("not a big-screen page");
    }
    replace(doc, ".screen-head");
    replace(doc, ".screen-main");
    document.title = doc.title;
    body.setAttribute("data-next", doc.body.getAttribute("data-next") || url);
    body.setAttribute("data-seconds", doc.body.getAttribute("data-seconds") || "15");
    if (window.history && window.history.replaceState) {
      window.history.replaceState(null, "", url);
    }
  }

  function schedule(duration) {
    window.clearTimeout(timer);
    animate(duration);
    timer = window.setTimeout(next, duration * 1000);
  }

  function next() {
    var url = body.getAttribute("data-next");
    if (!url) {
      return;
    }
    window
      .fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        show(html, url);
        body.classList.remove("screen-offline");
        schedule(seconds());
      })
      .catch(function () {
        body.classList.add("screen-offline");
        schedule(RETRY_SECONDS);
      });
  }

  schedule(seconds());
})();
