// Small progressive enhancements; every page works without them.
(function () {
  "use strict";
  // Ask once before an irreversible action: <form data-confirm="...">.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      ev.preventDefault();
      return;
    }
    // A double click on submit sends once.
    if (form.dataset) {
      if (form.dataset.submitted === "1") { ev.preventDefault(); return; }
      form.dataset.submitted = "1";
      window.setTimeout(function () { form.dataset.submitted = ""; }, 4000);
    }
  }, true);
})();

// File uploads (imports): show the upload's progress, then that the server is checking rows.
(function () {
  "use strict";
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.hasAttribute || !form.hasAttribute("data-upload") || ev.defaultPrevented) return;
    var input = form.querySelector("input[type=file]");
    if (!input || !input.files || !input.files.length || !window.XMLHttpRequest || !window.FormData) return;
    ev.preventDefault();
    var status = form.querySelector(".upload-status");
    if (!status) {
      status = document.createElement("div");
      status.className = "upload-status";
      status.setAttribute("role", "status");
      form.appendChild(status);
    }
    var bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    var label = document.createElement("span");
    label.textContent = form.getAttribute("data-uploading") || "";
    status.textContent = "";
    status.appendChild(bar);
    status.appendChild(label);
    Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) { b.disabled = true; });
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) bar.value = Math.round((100 * e.loaded) / e.total);
    });
    xhr.upload.addEventListener("load", function () {
      bar.removeAttribute("value");  // indeterminate while the server checks every row
      label.textContent = form.getAttribute("data-processing") || "";
    });
    xhr.addEventListener("load", function () {
      if (xhr.responseURL && xhr.responseURL.split("#")[0] !== form.action.split("#")[0]) {
        // Success: show the page the redirect led to as received (its flash message is in it;
        // loading it again would lose the message) at its own address.
        window.history.replaceState(null, "", xhr.responseURL);
      }
      document.open();
      document.write(xhr.responseText);  // the next page, or the report of every bad row
      document.close();
    });
    xhr.addEventListener("error", function () { form.submit(); });
    xhr.send(new FormData(form));
  });
})();
