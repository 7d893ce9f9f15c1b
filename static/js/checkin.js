// Check-in tablet: scan admission-ticket QR codes with the camera and look them up without
// reloading. Progressive enhancement: without this file the manual form posts as usual.
// Texts come from data-i18n-* attributes on section.checkin (translated by the server).
(function () {
  "use strict";

  var root = document.querySelector("section.checkin[data-checkin-url]");
  if (!root || !window.fetch || !window.FormData) { return; }

  var url = root.getAttribute("data-checkin-url");
  var form = document.getElementById("checkin-form");
  var result = document.getElementById("checkin-result");
  var scanner = root.querySelector(".scanner");
  var video = document.getElementById("scanner-video");
  var status = document.getElementById("scanner-status");
  var startButton = document.getElementById("scan-start");
  if (!form || !result) { return; }

  var FRAME_MS = 125;        // decode about 8 frames a second
  var REPEAT_MS = 3000;      // the same code again within this time is ignored
  var PAUSE_MS = 3000;       // after a result, wait this long before scanning on
  var MAX_WIDTH = 640;       // frames are scaled down to this width before decoding

  var stream = null;
  var canvas = null;
  var ctx = null;
  var frameRequest = 0;
  var lastFrameAt = 0;
  var lastCode = "";
  var lastSeenAt = 0;
  var paused = false;
  var resumeTimer = 0;

  function text(key) {
    return root.getAttribute("data-i18n-" + key) || "";
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : all;
    });
  }

  function el(tag, className, content) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (content !== undefined && content !== null) { node.textContent = String(content); }
    return node;
  }

  function csrfToken() {
    var input = form && form.querySelector("input[name=csrf_token]");
    return input ? input.value : "";
  }

  // ---- talking to the server ------------------------------------------------------------

  function post(fields) {
    var body = new FormData();
    Object.keys(fields).forEach(function (name) { body.append(name, fields[name]); });
    if (!body.has("csrf_token")) { body.append("csrf_token", csrfToken()); }
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": csrfToken() }
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") === -1) {
        return { error: fill(text("failed"), { status: response.status }) };
      }
      return response.json();
    });
  }

  function fieldsOf(formElement) {
    var fields = {};
    new FormData(formElement).forEach(function (value, name) { fields[name] = value; });
    return fields;
  }

  // ---- rendering ------------------------------------------------------------------------

  function renderError(message) {
    var box = el("div", "alert alert-error");
    box.setAttribute("role", "alert");
    box.appendChild(el("p", "", message));
    return box;
  }

  function details(entry) {
    var line = el("p", "");
    line.appendChild(document.createTextNode(text("entry-number") + " "));
    line.appendChild(el("strong", "", entry.entry_number || "—"));
    line.appendChild(document.createTextNode(" · " + text("station") + " "));
    line.appendChild(el("strong", "", entry.station || "—"));
    if (entry.session) {
      line.appendChild(document.createTextNode(" · " + text("session") + " " + entry.session));
    }
    return line;
  }

  function confirmForm(code, method) {
    var confirm = el("form", "checkin-confirm");
    confirm.method = "post";
    confirm.action = url;
    [["csrf_token", csrfToken()], ["code", code], ["confirm", "1"], ["method", method]]
      .forEach(function (pair) {
        var input = el("input");
        input.type = "hidden";
        input.name = pair[0];
        input.value = pair[1];
        confirm.appendChild(input);
      });
    var button = el("button", "btn btn-primary btn-block big", text("confirm"));
    button.type = "submit";
    confirm.appendChild(button);
    confirm.addEventListener("submit", onConfirm);
    return confirm;
  }

  function render(data, code, method) {
    result.textContent = "";
    if (data.error && !data.entry) {
      result.appendChild(renderError(data.error));
      return;
    }
    var card = el("div", "person-card");
    if (data.entry.photo_url) {
      var photo = document.createElement("img");
      photo.className = "id-photo";
      photo.src = data.entry.photo_url;
      photo.alt = "";
      photo.width = 120;
      photo.height = 160;
      card.appendChild(photo);
    }
    card.appendChild(el("p", "big checkin-names", data.entry.names));
    card.appendChild(el("p", "", data.entry.unit));
    card.appendChild(details(data.entry));
    if (data.error) {
      card.appendChild(renderError(data.error));
    } else if (data.first_time) {
      var done = el("p", "alert flash-success", text("checked-in"));
      done.setAttribute("role", "status");
      card.appendChild(done);
    } else if (data.checked_in) {
      var again = el("p", "alert flash-warning", fill(text("already"), {
        when: data.checked_in_at || "—", who: data.checked_in_by || "—"
      }));
      again.setAttribute("role", "status");
      card.appendChild(again);
    } else {
      card.appendChild(confirmForm(code, method));
    }
    result.appendChild(card);
    if (data.first_time) { markPresent(data.entry.admission_no); }
  }

  // The absentee list and its count follow a check-in made on this page.
  function markPresent(admissionNo) {
    var list = document.getElementById("absent-list");
    var badge = document.getElementById("absent-count");
    if (!list || !admissionNo) { return; }
    var items = list.querySelectorAll("li[data-admission-no]");
    for (var i = 0; i < items.length; i += 1) {
      if (items[i].getAttribute("data-admission-no") === admissionNo) {
        list.removeChild(items[i]);
        if (badge) {
          var count = Math.max(0, parseInt(badge.getAttribute("data-count"), 10) - 1);
          badge.setAttribute("data-count", String(count));
          badge.textContent = badge.textContent.replace(/\d+/, String(count));
        }
        return;
      }
    }
  }

  function busy(on) {
    var buttons = root.querySelectorAll("button[type=submit]");
    for (var i = 0; i < buttons.length; i += 1) { buttons[i].disabled = on; }
    root.setAttribute("aria-busy", on ? "true" : "false");
  }

  // ---- the manual form and the confirm button -------------------------------------------

  function submitEnhanced(formElement, ev, afterwards) {
    if (ev.defaultPrevented) { return; }   // app.js: a double click or a declined question
    ev.preventDefault();
    var fields = fieldsOf(formElement);
    busy(true);
    post(fields).then(function (data) {
      busy(false);
      formElement.dataset.submitted = "";   // answered: the next lookup may go

      render(data, fields.code || "", fields.method || "manual");
      if (afterwards) { afterwards(data); }
    }, function () {
      // The network failed: let the browser post the form the ordinary way.
      busy(false);
      HTMLFormElement.prototype.submit.call(formElement);
    });
  }

  function onLookup(ev) {
    submitEnhanced(form, ev, function () {
      var input = form.querySelector("input[name=code]");
      if (input) { input.value = ""; }
    });
  }

  function onConfirm(ev) {
    submitEnhanced(ev.currentTarget, ev, function () {
      if (stream) { resume(); }
    });
  }

  form.addEventListener("submit", onLookup);
  // A confirm form the server rendered (after a plain post) goes through fetch as well.
  Array.prototype.forEach.call(result.querySelectorAll("form"), function (confirm) {
    confirm.addEventListener("submit", onConfirm);
  });

  // ---- the camera -----------------------------------------------------------------------

  function say(message) {
    if (status) { status.textContent = message; }
  }

  function cameraError(error) {
    var name = error && error.name;
    if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") {
      return text("camera-denied");
    }
    if (name === "NotFoundError" || name === "OverconstrainedError" || name === "DevicesNotFoundError") {
      return text("camera-missing");
    }
    if (name === "NotReadableError" || name === "TrackStartError") {
      return text("camera-busy");
    }
    return text("camera-failed");
  }

  function resume() {
    window.clearTimeout(resumeTimer);
    paused = false;
    lastSeenAt = Date.now();   // the ticket still in view is not looked up again
    say(text("scanning"));
  }

  function pauseThenResume() {
    window.clearTimeout(resumeTimer);
    resumeTimer = window.setTimeout(resume, PAUSE_MS);
  }

  function onCode(code) {
    var now = Date.now();
    if (code === lastCode && now - lastSeenAt < REPEAT_MS) {
      lastSeenAt = now;
      return;
    }
    lastCode = code;
    lastSeenAt = now;
    paused = true;
    say(text("looking-up"));
    busy(true);
    post({ code: code, method: "qr" }).then(function (data) {
      busy(false);
      render(data, code, "qr");
      say(text("scanned"));
      pauseThenResume();
    }, function () {
      busy(false);
      result.textContent = "";
      result.appendChild(renderError(text("network")));
      pauseThenResume();
    });
  }

  function scanFrame(now) {
    frameRequest = window.requestAnimationFrame(scanFrame);
    if (paused || now - lastFrameAt < FRAME_MS) { return; }
    if (video.readyState < video.HAVE_CURRENT_DATA || !video.videoWidth) { return; }
    lastFrameAt = now;
    var scale = Math.min(1, MAX_WIDTH / video.videoWidth);
    var width = Math.round(video.videoWidth * scale);
    var height = Math.round(video.videoHeight * scale);
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    ctx.drawImage(video, 0, 0, width, height);
    var image = ctx.getImageData(0, 0, width, height);
    var found = window.jsQR(image.data, width, height, { inversionAttempts: "dontInvert" });
    if (found && found.data) { onCode(found.data); }
  }

  function stopCamera() {
    window.cancelAnimationFrame(frameRequest);
    window.clearTimeout(resumeTimer);
    if (stream) { stream.getTracks().forEach(function (track) { track.stop(); }); }
    stream = null;
    video.srcObject = null;
    scanner.hidden = true;
    startButton.textContent = text("scan");
    startButton.setAttribute("aria-pressed", "false");
  }

  function startCamera() {
    scanner.hidden = false;
    say(text("starting"));
    navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } }
    }).then(function (media) {
      stream = media;
      video.srcObject = media;
      video.setAttribute("playsinline", "");
      video.muted = true;
      return video.play();
    }).then(function () {
      canvas = canvas || document.createElement("canvas");
      ctx = ctx || canvas.getContext("2d", { willReadFrequently: true });
      startButton.textContent = text("stop");
      startButton.setAttribute("aria-pressed", "true");
      resume();
      lastCode = "";
      frameRequest = window.requestAnimationFrame(scanFrame);
    }).catch(function (error) {
      if (stream) { stream.getTracks().forEach(function (track) { track.stop(); }); }
      stream = null;
      video.hidden = true;
      say(cameraError(error));
    });
  }

  var canScan = startButton && scanner && video && typeof window.jsQR === "function" &&
    navigator.mediaDevices && typeof navigator.mediaDevices.getUserMedia === "function";
  if (canScan) {
    startButton.hidden = false;
    startButton.setAttribute("aria-pressed", "false");
    startButton.addEventListener("click", function () {
      if (stream) { stopCamera(); } else { video.hidden = false; startCamera(); }
    });
    document.addEventListener("visibilitychange", function () {
      if (document.hidden && stream) { stopCamera(); }
    });  } else if (startButton && startButton.parentNode) {
    startButton.parentNode.removeChild(startButton);   // no camera API here: no dead button
  }
})();
