// Site screen: follows the stage over /ws/screen. Snapshot first, then versioned changes;
// reconnects by itself with backoff and resumes with since=<last version>; never reloads.
// Between conferences the server sends "waiting" (site, next conference, its time) and
// keeps the socket open; when a conference goes live there, its snapshot follows.
// Without a link the last state stays on screen under a "Mất kết nối, đang thử lại…" mark
// (also after a reload: screen_offline.js keeps the last message, its worker the files).
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
  var conferenceId = null;  // the conference `version` belongs to
  var clockOffset = 0;  // server time minus this PC's: a projector's clock is often wrong
  var attempt = 0;
  var socket = null;
  var heartbeat = null;
  var followTimer = null;  // the next look at the follow link (see followQr)
  var siteId = null;  // this screen's site (from the follow-link answer)
  var floor = null;  // who has the floor: the stage message's `floor`
  var live = false;  // the socket is open and the server has answered on it
  var retry = null;  // the timer of the next connect, while one is waiting
  var shed = false;  // that wait is the server's (1013 retry_after): the network's return keeps it
  var shownAt = null;  // when the state on screen came (ms, server time as far as known)
  var offline = window.DiemcauScreenOffline || null;
  var el = function (id) { return document.getElementById(id); };

  var clockFmt = new Intl.DateTimeFormat("vi-VN", {
    timeZone: "Asia/Ho_Chi_Minh", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false
  });
  var dateFmt = new Intl.DateTimeFormat("vi-VN", {
    timeZone: "Asia/Ho_Chi_Minh", weekday: "long", day: "2-digit", month: "2-digit", year: "numeric"
  });
  var dayFmt = new Intl.DateTimeFormat("vi-VN", {
    timeZone: "UTC", weekday: "long", day: "2-digit", month: "2-digit", year: "numeric"
  });
  var timeFmt = new Intl.DateTimeFormat("vi-VN", {
    timeZone: "Asia/Ho_Chi_Minh", hour: "2-digit", minute: "2-digit", hour12: false
  });
  function tick() {
    var now = new Date(Date.now() + clockOffset);
    el("clock").textContent = clockFmt.format(now);
    el("waiting-clock").textContent = clockFmt.format(now);
    el("waiting-date").textContent = dateFmt.format(now);
    floorTick();
  }
  tick();
  setInterval(tick, 1000);

  // The timer counts from the server's time (clockOffset), not this PC's: up while there is
  // no limit; with one, down to 00:00 and then "Quá giờ +mm:ss" (floor.js's timer).
  function floorTick() {
    if (!floor) { return; }
    var t = window.DiemcauFloor.timer(floor, Date.now() + clockOffset);
    var box = el("floor");
    box.classList.toggle("countdown", !!floor.limit_seconds && !t.over);
    box.classList.toggle("overtime", t.over);
    el("floor-timer").textContent = t.over ? t.label + " " + t.text : t.text;
  }

  function renderFloor() {
    var box = el("floor");
    box.hidden = !floor;
    if (!floor) { delete box.dataset.site; return; }
    box.dataset.site = String(floor.site_id);  // read by the browser tests
    el("floor-own").hidden = siteId === null || floor.site_id !== siteId;
    el("floor-site").textContent = floor.site_name;
    el("floor-speaker").textContent = floor.speaker_name +
      (floor.speaker_position ? ", " + floor.speaker_position : "");
    el("floor-topic").textContent = floor.topic || "";
    floorTick();
  }

  function renderQuestion(question) {
    el("question").hidden = !question;
    el("question-text").textContent = question ? question.text : "";
    el("question-from").textContent = question && question.site_name ? " · " + question.site_name : "";
  }

  // Offline the slide and agenda stay as they were; the mark over them says so.
  function setStatus(online) {
    var s = el("status");
    s.className = "status " + (online ? "online" : "offline");
    s.textContent = online ? "Đã kết nối" : "Mất kết nối, đang thử lại…";
    el("offline").hidden = online;
    el("offline-since").textContent = !online && shownAt !== null
      ? "Cập nhật lúc " + timeFmt.format(new Date(shownAt)) : "";
  }

  function keep(msg) {
    shownAt = Date.now() + clockOffset;
    if (offline && token) { offline.keep(token, msg, shownAt); }
  }

  function showWaiting(waiting) {
    el("waiting").hidden = !waiting;
    el("stage").hidden = waiting;
    if (waiting) { el("notice").hidden = true; }
    document.body.dataset.mode = waiting ? "waiting" : "stage";
  }

  // "YYYY-MM-DD" as a day, without shifting it through this PC's time zone.
  function dayText(iso) {
    var p = iso.split("-");
    return dayFmt.format(new Date(Date.UTC(+p[0], +p[1] - 1, +p[2])));
  }

  function renderWaiting(msg) {
    version = null;  // the next conference's versions are its own
    conferenceId = null;
    clearTimeout(followTimer);  // no conference live here: no follow link
    el("follow").hidden = true;
    if (window.DiemcauScreenForm) { window.DiemcauScreenForm.render(null, token); }
    floor = null;
    renderFloor();
    renderQuestion(null);
    var now = Date.parse(msg.now);
    if (!isNaN(now)) { clockOffset = now - Date.now(); tick(); }
    el("conference").textContent = "";
    el("site").textContent = msg.site_name || "";
    el("waiting-site").textContent = msg.site_name || "";
    var next = msg.next;
    el("waiting-next").hidden = !next;
    el("waiting-none").hidden = !!next;
    if (next) {
      el("waiting-title").textContent = next.title;
      el("waiting-when").textContent = next.starts_at
        ? timeFmt.format(new Date(next.starts_at)) + " · " + dateFmt.format(new Date(next.starts_at))
        : dayText(next.starts_on);
    }
    showWaiting(true);
  }

  function render(msg) {
    version = msg.version;
    if (conferenceId !== msg.conference_id) {
      conferenceId = msg.conference_id;
      followQr();  // another conference: its own follow link
    }
    showWaiting(false);
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
    floor = msg.floor || null;
    renderFloor();
    renderQuestion(msg.question || null);
    if (window.DiemcauScreenForm) { window.DiemcauScreenForm.render(msg.form || null, token); }
    document.body.dataset.version = String(version);
  }

  function showUnpaired() {
    localStorage.removeItem(KEY);
    if (offline) { offline.forget(); }  // nothing of a revoked pairing stays in this browser
    el("offline").hidden = true;  // no retrying: the screen needs pairing again
    el("unpaired").hidden = false;
  }

  function connect() {
    if (!token) { showUnpaired(); return; }
    var proto = location.protocol === "https:" ? "wss:" : "ws:";
    var url = proto + "//" + location.host + "/ws/screen?token=" + encodeURIComponent(token);
    if (version !== null) { url += "&since=" + version + "&conference=" + conferenceId; }
    socket = new WebSocket(url);
    socket.onopen = function () {
      attempt = 0;
      heartbeat = setInterval(function () {
        if (socket.readyState === WebSocket.OPEN) { socket.send('{"type":"heartbeat"}'); }
      }, HEARTBEAT_MS);
    };
    socket.onmessage = function (event) {
      var msg = JSON.parse(event.data);
      // Caught up (snapshot, "resumed" at our version, or waiting): the mark goes. Not on
      // open: a socket shed in a storm opens and closes at once.
      if (!live) { live = true; setStatus(true); }
      if (msg.type === "snapshot") { render(msg); keep(msg); }
      else if (msg.type === "waiting") { renderWaiting(msg); keep(msg); }
      else if (msg.type === "state" && (version === null || msg.version > version)) {
        render(msg);
        keep(msg);
      } else if (msg.type === "form_count" && window.DiemcauScreenForm) {
        window.DiemcauScreenForm.count(msg);  // no version: the stage's are untouched
      }
    };
    socket.onclose = closed;
  }

  function closed(event) {
    clearInterval(heartbeat);
    live = false;
    setStatus(false);
    if (event.code === 4401) { showUnpaired(); return; }
    if (event.code === 4400) { version = null; }  // our version is unknown to the server
    // Shed in a storm (1013): come back when the server said, without growing the backoff.
    var later = window.DiemcauRetry ? window.DiemcauRetry.after(event) : null;
    shed = later !== null;
    if (shed) { retry = setTimeout(reconnect, later); return; }
    attempt += 1;
    // First retry within half a second; never more than 3 s apart, so a restarted
    // service is shown again within 5 s (docs/FAULTS.md). The jitter spreads thousands
    // of screens over the wait.
    var delay = Math.min(3000, 250 * Math.pow(2, attempt)) * (0.5 + Math.random() / 2);
    retry = setTimeout(reconnect, delay);
  }

  function reconnect() {
    retry = null;
    shed = false;
    connect();
  }

  // The network went away: a socket may stay "open" for minutes without a byte getting
  // through (and Chromium holds its messages), so let it go and keep trying; the network
  // is back: try at once, unless the server asked us to wait.
  window.addEventListener("offline", function () {
    if (!socket || socket.readyState > WebSocket.OPEN) { return; }
    var dead = socket;
    dead.onopen = dead.onmessage = dead.onclose = null;
    dead.close(1000, "offline");
    closed({ code: 1006, reason: "" });
  });
  window.addEventListener("online", function () {
    if (retry === null || shed) { return; }
    clearTimeout(retry);
    attempt = 0;
    reconnect();
  });

  // The last state kept in this browser is shown until the server answers (once every
  // script of the page has run: screen_form.js draws a form on stage).
  function start() {
    var kept = offline && token ? offline.restore(token) : null;
    if (kept) {
      if (kept.message.type === "waiting") { renderWaiting(kept.message); }
      else { render(kept.message); }
      shownAt = typeof kept.at === "number" ? kept.at : null;
    }
    connect();
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); }
  else { start(); }

  // Conferences start and end on dates: just after midnight in Vietnam (spread over five
  // minutes) a following screen reconnects, resuming if its conference is still live, else
  // getting the waiting screen or the conference that begins today.
  var DAY_MS = 86400000, VN_OFFSET_MS = 7 * 3600000;
  function reconnectAtMidnight() {
    var intoDay = (Date.now() + clockOffset + VN_OFFSET_MS) % DAY_MS;
    setTimeout(function () {
      if (conferenceId !== null && socket && socket.readyState === WebSocket.OPEN) {
        socket.close(1000, "new_day");
      }
      reconnectAtMidnight();
    }, DAY_MS - intoDay + Math.random() * 300000);
  }
  reconnectAtMidnight();

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

  // Follow-along QR: the link of the conference live here, for the room to follow the
  // agenda and slides on their phones. Asked again every `recheck_in` seconds (plus up to
  // half that, so screens spread out): a link the central office rotated is replaced.
  function followQr() {
    clearTimeout(followTimer);
    if (!token) { return; }
    var asked = Date.now();
    fetch("/api/v1/screen/follow-qr", { headers: { "Authorization": "Screen " + token } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (f) {
        var now = f.now ? Date.parse(f.now) : NaN;
        // The server's time at about the middle of the round trip.
        if (!isNaN(now)) { clockOffset = now - (asked + Date.now()) / 2; }
        if (typeof f.site_id === "number") { siteId = f.site_id; }
        renderFloor();
        var panel = el("follow");
        if (f.url && f.svg) {
          if (panel.dataset.url !== f.url) {
            el("follow-qr").src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(f.svg);
            panel.dataset.url = f.url;  // read by the browser tests
          }
          panel.hidden = false;
        } else {
          panel.hidden = true;
          delete panel.dataset.url;
        }
        followTimer = setTimeout(followQr, f.recheck_in * (1 + Math.random() / 2) * 1000);
      })
      .catch(function (status) {
        // A refused screen (401: the socket says so) shows none; while the server is out
        // of reach the last link stays (it changes only when rotated) and we ask again.
        if (typeof status === "number") { el("follow").hidden = true; }
        followTimer = setTimeout(followQr, typeof status === "number" ? 60000 : 15000);
      });
  }
})();
