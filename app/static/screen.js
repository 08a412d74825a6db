// Site screen: follows the stage over /ws/screen. Snapshot first, then versioned changes;
// reconnects by itself with backoff and resumes with since=<last version>; never reloads.
(function () {
  "use strict";
  var KEY = "diemcau.screen.token";
  var HEARTBEAT_MS = 15000;
  var fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromHash) {
    localStorage.setItem(KEY, fromHash);
    history.replaceState(null, "", location.pathname);  // keep the secret out of the address bar
  }
  var token = localStorage.getItem(KEY);
  var version = null;
  var attempt = 0;
  var socket = null;
  var heartbeat = null;
  var el = function (id) { return document.getElementById(id); };

  var clockFmt = new Intl.DateTimeFormat("vi-VN", {
    timeZone: "Asia/Ho_Chi_Minh", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false
  });
  function tick() { el("clock").textContent = clockFmt.format(new Date()); }
  tick();
  setInterval(tick, 1000);

  function setStatus(online) {
    var s = el("status");
    s.className = "status " + (online ? "online" : "offline");
    s.textContent = online ? "Đã kết nối" : "Mất kết nối, đang thử lại…";
  }

  function render(msg) {
    version = msg.version;
    window.diemcauScreenVersion = version;  // read by the browser tests
    el("conference").textContent = msg.conference_title || "";
    var session = msg.session;
    el("session").textContent = session ? session.title : "Chưa bắt đầu phiên";
    var item = msg.item;
    el("item").textContent = item ? item.title : "—";
    el("speaker").textContent = item && item.speaker ? item.speaker : "";
    var slide = msg.slide;
    var img = el("slide");
    if (slide && slide.url) {
      if (img.getAttribute("src") !== slide.url) { img.src = slide.url; }
      img.alt = "Trang " + slide.number;
      img.hidden = false;
      el("no-slide").hidden = true;
      el("slide-no").textContent = "Trang " + slide.number + (slide.count ? " / " + slide.count : "");
    } else {
      img.hidden = true;
      img.removeAttribute("src");
      el("no-slide").hidden = false;
      el("slide-no").textContent = "";
    }
    var notice = el("notice");
    notice.textContent = msg.notice || "";
    notice.hidden = !msg.notice;
    var next = el("next");
    next.textContent = "";
    (msg.next || []).forEach(function (n) {
      var li = document.createElement("li");
      li.textContent = n.title;
      next.appendChild(li);
    });
    el("next-label").hidden = !(msg.next && msg.next.length);
    document.body.dataset.version = String(version);
  }

  function showUnpaired() {
    localStorage.removeItem(KEY);
    el("unpaired").hidden = false;
  }

  function connect() {
    if (!token) { showUnpaired(); return; }
    var proto = location.protocol === "https:" ? "wss:" : "ws:";
    var url = proto + "//" + location.host + "/ws/screen?token=" + encodeURIComponent(token);
    if (version !== null) { url += "&since=" + version; }
    socket = new WebSocket(url);
    socket.onopen = function () {
      attempt = 0;
      setStatus(true);
      heartbeat = setInterval(function () {
        if (socket.readyState === WebSocket.OPEN) { socket.send('{"type":"heartbeat"}'); }
      }, HEARTBEAT_MS);
    };
    socket.onmessage = function (event) {
      var msg = JSON.parse(event.data);
      if (msg.type === "snapshot") { render(msg); }
      else if (msg.type === "state" && (version === null || msg.version > version)) { render(msg); }
    };
    socket.onclose = function (event) {
      clearInterval(heartbeat);
      setStatus(false);
      if (event.code === 4401) { showUnpaired(); return; }
      if (event.code === 4400) { version = null; }  // our version is unknown to the server
      attempt += 1;
      var delay = Math.min(15000, 500 * Math.pow(2, attempt)) * (0.5 + Math.random() / 2);
      setTimeout(connect, delay);
    };
  }
  connect();

  // Self check-in QR: a new signed site code every 20 s. Screens refresh at a random
  // moment after the step turns (the previous code stays valid one more step), so
  // thousands of screens do not ask at the same instant.
  var qrShownAt = 0;
  function selfCheckinQr() {
    if (!token) { return; }
    fetch("/api/v1/screen/self-checkin-qr", { headers: { "Authorization": "Screen " + token } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (qr) {
        var panel = el("selfcheckin");
        el("selfcheckin-qr").src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(qr.svg);
        panel.dataset.url = qr.url;  // read by the browser tests
        panel.hidden = false;
        qrShownAt = Date.now();
        if (qr.site_name) { el("site").textContent = qr.site_name; }
        setTimeout(selfCheckinQr, (qr.expires_in + Math.random() * 5) * 1000);
      })
      .catch(function (status) {
        // Not offered (404), a revoked token (401: the socket says so), or a code that has
        // gone stale while the server was out of reach: never show a QR that would be refused.
        if (typeof status === "number" || Date.now() - qrShownAt > 35000) {
          el("selfcheckin").hidden = true;
        }
        setTimeout(selfCheckinQr, typeof status === "number" ? 20000 : 3000);
      });
  }
  selfCheckinQr();
})();
