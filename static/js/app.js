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
