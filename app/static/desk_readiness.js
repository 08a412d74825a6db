// "Sẵn sàng" and "Báo sự cố" on the desk's headcount page (issue 15). Online, with
// nothing waiting, the tap posts the site page's own form (/sites/{id}/readiness) and the
// page comes back with the server's notice. Offline, when the post fails on the network,
// when the login is gone, or while earlier items still wait, the tap joins the desk's
// queue (offline_sync.js) with its own time and nonce, so the server applies it after
// them, in order: an incident keeps the time it was reported, and a later "ready" closes it.
(function () {
  "use strict";
  var form = document.getElementById("readiness-form");
  var desk = window.DiemcauDesk;
  var O = window.DiemcauOffline;
  if (!form || !desk || !O) { return; }
  var notice = document.getElementById("rd-queued");
  var buttons = form.querySelectorAll("button[type=submit]");
  var GATEWAY = [502, 503, 504];  // a proxy or the server saying "not now": try again later
  var NAMES = { ready: "Sẵn sàng", incident: "Báo sự cố" };

  function say(text, kind) {
    notice.textContent = text;
    notice.className = "flash " + (kind || "ok");
    notice.hidden = false;
  }

  function busy(on) {
    buttons.forEach(function (b) { b.disabled = on; });
  }

  function queue(kind, note, at) {
    var item = { kind: kind, at: at, label: NAMES[kind] + (note ? ": " + note : "") };
    if (kind === "incident") { item.reason = note || form.dataset.defaultIncident; }
    return desk.enqueue(item).then(function () {
      form.elements.note.value = "";
      say("Đã lưu «" + NAMES[kind] + "» trên máy này lúc " + desk.hhmm(at)
          + "; sẽ gửi khi có mạng, theo đúng thứ tự các lượt đang chờ.");
      desk.syncNow();
    }, function () {
      say("Không lưu được trên máy này; hãy bấm lại khi có mạng.", "err");
    });
  }

  // The server's answer when it refused the tap: its error page's sentence and code.
  function refusal(response) {
    return response.text().then(function (html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      var detail = doc.querySelector(".error-detail");
      var code = doc.querySelector(".error-code code");
      return { detail: detail ? detail.textContent.trim() : "", code: code ? code.textContent.trim() : "" };
    }, function () { return { detail: "", code: "" }; });
  }

  function post(kind, note, at) {
    var body = new URLSearchParams(new FormData(form));
    body.set("readiness", kind);
    return fetch(form.action, { method: "POST", body: body, credentials: "same-origin" }).then(function (r) {
      if (GATEWAY.indexOf(r.status) >= 0) { return queue(kind, note, at); }
      if (r.redirected && new URL(r.url).pathname === "/login") {
        desk.loseAuth();  // the queue keeps it; a new login sends it
        return queue(kind, note, at);
      }
      if (r.ok) { location.assign(r.redirected ? r.url : location.href); return null; }
      return refusal(r).then(function (why) {
        if (why.code === "csrf_failed") { desk.loseAuth(); return queue(kind, note, at); }
        say(why.detail || "Máy chủ không nhận (lỗi " + r.status + ").", "err");
      });
    }, function () { return queue(kind, note, at); });
  }

  form.addEventListener("submit", function (event) {
    var kind = event.submitter && event.submitter.value;
    if (!NAMES[kind]) { return; }
    event.preventDefault();
    var note = form.elements.note.value.trim();
    var at = new Date().toISOString();  // the time of the tap, whenever it reaches the server
    busy(true);
    O.pendingCount(desk.site).then(function (waiting) {
      // Earlier items wait in the queue: this one goes after them, never ahead.
      return desk.isOffline() || waiting > 0 ? queue(kind, note, at) : post(kind, note, at);
    }, function () { return post(kind, note, at); }).then(function () { busy(false); }, function () { busy(false); });
  });
})();
