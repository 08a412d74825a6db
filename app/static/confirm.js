// Destructive forms ask first: a form (or its submit button) with data-confirm shows that
// question, and "Huỷ" leaves everything as it was. A file, not an onsubmit= attribute:
// the Content-Security-Policy allows no inline script. Without JavaScript the form
// still posts (the server does not depend on the question having been asked).
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    var button = event.submitter;
    var question = (button && button.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
})();
