// Headcount page without network (issue 15): the report is queued on the device with its
// own time and nonce (offline_sync.js sends it, in order with the scans, when the link
// returns) instead of a form post that would fail. Online, the form posts as before.
(function () {
  "use strict";
  var form = document.getElementById("headcount-form");
  var desk = window.DiemcauDesk;
  if (!form || !desk) { return; }
  var MAX = 100000;
  var notice = document.getElementById("hc-queued");

  function counts() {
    var out = {};
    var bad = null;
    form.querySelectorAll("input[type=number]").forEach(function (input) {
      var raw = input.value.trim().replace(/\./g, "");
      if (!raw) { out[input.name] = 0; return; }
      if (!/^\d+$/.test(raw) || Number(raw) > MAX) { bad = bad || input; return; }
      out[input.name] = Number(raw);
    });
    return bad ? { error: bad } : { counts: out };
  }

  function say(text, kind) {
    notice.textContent = text;
    notice.className = "flash " + (kind || "ok");
    notice.hidden = false;
  }

  form.addEventListener("submit", function (event) {
    if (!desk.isOffline()) { return; }  // online: the server takes the form itself
    event.preventDefault();
    var read = counts();
    if (read.error) {
      say((read.error.closest("label") || read.error).textContent.trim() + ": phải là số nguyên từ 0 đến 100.000", "err");
      return;
    }
    var sid = Number(form.elements.session_id.value);
    desk.enqueue({ kind: "headcount", session_id: sid > 0 ? sid : null, counts: read.counts,
                   label: "Báo cáo số lượng" }).then(function () {
      say("Đã lưu báo cáo trên máy này lúc " + desk.hhmm() + "; sẽ gửi khi có mạng (thay cho báo cáo trước).");
    }, function () {
      say("Không lưu được báo cáo trên máy này; hãy gửi lại khi có mạng.", "err");
    });
  });
})();
