// Links meant to be copied (screen link, invite link) select themselves on focus.
// A file, not an onfocus= attribute: the Content-Security-Policy allows no inline script.
(function () {
  "use strict";
  document.addEventListener("focusin", function (event) {
    var target = event.target;
    if (target instanceof HTMLInputElement && target.hasAttribute("data-select-on-focus")) {
      target.select();
    }
  });
})();
