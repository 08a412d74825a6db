// When a realtime socket comes back after the server shed it in a storm (close code
// 1013 Try Again Later, reason "retry_after=N", app/admission.py): after N seconds plus
// up to a second of jitter, so that thousands of screens told the same N do not return
// as one wave. Any other close keeps the page's own backoff. window.DiemcauRetry.
(function () {
  "use strict";
  var TRY_AGAIN_LATER = 1013;
  window.DiemcauRetry = {
    // Milliseconds to wait before reconnecting after this CloseEvent, or null when the
    // server did not say (the caller's backoff applies).
    after: function (event) {
      if (!event || event.code !== TRY_AGAIN_LATER) { return null; }
      var m = /(?:^|[\s;,])retry_after=(\d{1,5})(?:$|[\s;,])/.exec(event.reason || "");
      if (!m) { return null; }
      return Number(m[1]) * 1000 + Math.random() * 1000;
    }
  };
})();
