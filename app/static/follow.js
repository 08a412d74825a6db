// Attendee follow-along page: listens to /ws/follow (snapshot, then versioned "state"
// messages), reconnects with backoff and resumes with since=<last version>; never reloads.
(function () {
  "use strict";
  var script = document.currentScript;
  var token = script.getAttribute("data-token");
  var el = function (id) { return document.getElementById(id); };
  var initial = JSON.parse(el("follow-data").textContent);
  var version = null;
  var sessionId = initial.session ? initial.session.id : null;
  var agendaIds = [];
  var attempt = 0;
  var stopped = false;
  var floor = null;  // who has the floor: the stage message's `floor`
  // The server's time minus this phone's (the page carries the server's time when sent).
  var serverNow = Date.parse(script.getAttribute("data-now") || "");
  var clockOffset = isNaN(serverNow) ? 0 : serverNow - Date.now();
  var CODE_KEY = "diemcau.pass.code";  // remembered by the self check-in page

  // Counted from the server's time (floor.js's timer): up, or down to "Quá giờ +mm:ss".
  function floorTick() {
    if (!floor) { return; }
    var t = window.DiemcauFloor.timer(floor, Date.now() + clockOffset);
    el("floor").classList.toggle("overtime", t.over);
    el("floor-timer").textContent = t.over ? t.label + " " + t.text : t.text;
  }
  setInterval(floorTick, 1000);

  function renderFloor(msg) {
    floor = msg.floor || null;
    el("floor").hidden = !floor;
    if (floor) {
      el("floor-site").textContent = floor.site_name;
      el("floor-speaker").textContent = floor.speaker_name +
        (floor.speaker_position ? ", " + floor.speaker_position : "");
      el("floor-topic").textContent = floor.topic || "";
      floorTick();
    }
    var q = msg.question || null;
    el("question").hidden = !q;
    el("question-text").textContent = q ? q.text : "";
    el("question-from").textContent = q && q.site_name ? " · " + q.site_name : "";
  }

  // A form open on the stage: a card with the way to answer it. The phone knows its site
  // when the follow link carried `?s=<site answer code>` or the site's QR was opened here
  // (remembered under SITE_KEY): /a/<code>; otherwise /a/-?form=<id> with the personal code.
  var SITE_KEY = "diemcau.answer.site";
  var SITE_CODE = /^[1-9][0-9]{0,9}-[A-Za-z2-7]{6}$/;
  var fromLink = new URLSearchParams(location.search).get("s") || "";
  if (SITE_CODE.test(fromLink)) {
    try { localStorage.setItem(SITE_KEY, fromLink.toUpperCase()); } catch (e) { /* private mode */ }
  }
  function siteCode() {
    var kept = "";
    try { kept = localStorage.getItem(SITE_KEY) || ""; } catch (e) { kept = ""; }
    if (SITE_CODE.test(fromLink)) { return fromLink.toUpperCase(); }
    return SITE_CODE.test(kept) ? kept : "";
  }
  function renderForm(msg) {
    var f = msg.form && msg.form.status === "open" ? msg.form : null;
    el("form-card").hidden = !f;
    if (!f) { return; }
    el("form-kind").textContent = (f.kind_label || "").toLowerCase();
    el("form-title").textContent = f.title;
    var site = siteCode();
    el("form-link").href = site ? "/a/" + encodeURIComponent(site) : "/a/-?form=" + f.id;
  }

  function readAgendaIds() {
    agendaIds = [];
    var rows = document.querySelectorAll("#agenda li[data-item]");
    for (var i = 0; i < rows.length; i++) { agendaIds.push(Number(rows[i].getAttribute("data-item"))); }
  }

  function setStatus(online, text) {
    var s = el("status");
    s.className = "status" + (online ? " online" : "");
    s.textContent = text || (online ? "Trực tiếp" : "Mất kết nối, đang thử lại…");
  }

  function highlight(itemId) {
    var rows = document.querySelectorAll("#agenda li[data-item]");
    for (var i = 0; i < rows.length; i++) {
      var current = itemId !== null && Number(rows[i].getAttribute("data-item")) === itemId;
      rows[i].classList.toggle("current", current);
      if (current) { rows[i].setAttribute("aria-current", "step"); } else { rows[i].removeAttribute("aria-current"); }
    }
  }

  function fillAgenda(items, itemId) {
    var list = el("agenda");
    list.textContent = "";
    if (!items.length) {
      var empty = document.createElement("li");
      empty.className = "muted";
      empty.textContent = "Chưa có chương trình.";
      list.appendChild(empty);
    }
    items.forEach(function (item) {
      var li = document.createElement("li");
      li.setAttribute("data-item", String(item.id));
      li.appendChild(document.createTextNode(item.title));
      if (item.speaker) {
        var small = document.createElement("small");
        small.textContent = " · " + item.speaker;
        li.appendChild(small);
      }
      list.appendChild(li);
    });
    readAgendaIds();
    highlight(itemId);
  }

  function loadAgenda(itemId) {
    fetch("/api/v1/follow/" + encodeURIComponent(token) + "/agenda", { credentials: "omit" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (items) { if (items) { fillAgenda(items, itemId); } })
      .catch(function () {});
  }

  function render(msg) {
    version = msg.version;
    document.body.setAttribute("data-version", String(version));
    el("conference").textContent = msg.conference_title || "";
    el("session").textContent = msg.session ? msg.session.title : "Chưa bắt đầu phiên họp";
    var item = msg.item;
    el("item").textContent = item ? item.title : "—";
    var meta = item ? item.kind_label.charAt(0).toUpperCase() + item.kind_label.slice(1) : "";
    if (item && item.speaker) { meta += " · " + item.speaker; }
    var slide = msg.slide;
    if (slide) { meta += " · trang " + slide.number + "/" + slide.count; }
    el("item-meta").textContent = meta;
    var img = el("slide");
    if (slide && slide.url) {
      if (img.getAttribute("src") !== slide.url) { img.src = slide.url; }
      img.alt = "Trang " + slide.number;
      img.hidden = false;
      el("no-slide").hidden = true;
    } else {
      img.hidden = true;
      img.removeAttribute("src");
      el("no-slide").hidden = false;
    }
    var notice = el("notice");
    notice.textContent = msg.notice || "";
    notice.hidden = !msg.notice;
    renderFloor(msg);
    renderForm(msg);
    var newSession = msg.session ? msg.session.id : null;
    var itemId = item ? item.id : null;
    // The message names the current item and the next few only: fetch the whole agenda
    // when the session changes or the agenda was edited (an item we do not know).
    var known = itemId === null || agendaIds.indexOf(itemId) >= 0;
    var nextKnown = (msg.next || []).every(function (n) { return agendaIds.indexOf(n.id) >= 0; });
    if (newSession !== sessionId || !known || !nextKnown) {
      sessionId = newSession;
      if (newSession === null) { fillAgenda([], null); } else { loadAgenda(itemId); }
    }
    highlight(itemId);
  }

  function connect() {
    if (stopped) { return; }
    var proto = location.protocol === "https:" ? "wss:" : "ws:";
    var url = proto + "//" + location.host + "/ws/follow?token=" + encodeURIComponent(token);
    if (version !== null) { url += "&since=" + version; }
    var socket = new WebSocket(url);
    socket.onopen = function () { attempt = 0; setStatus(true); };
    socket.onmessage = function (event) {
      var msg;
      try { msg = JSON.parse(event.data); } catch (e) { return; }
      if (msg.type === "snapshot") { render(msg); }
      else if (msg.type === "state" && (version === null || msg.version > version)) { render(msg); }
    };
    socket.onclose = function (event) {
      if (event.code === 4401 || event.code === 4403) {
        stopped = true;
        setStatus(false, "Đường dẫn theo dõi không còn hiệu lực");
        return;
      }
      setStatus(false);
      if (event.code === 4400) { version = null; }  // our version is unknown to the server
      // Shed in a storm (1013): come back when the server said, without growing the backoff.
      var later = window.DiemcauRetry ? window.DiemcauRetry.after(event) : null;
      if (later !== null) { setTimeout(connect, later); return; }
      attempt += 1;
      // First retry within half a second; never more than 3 s apart, so a restarted
      // service is shown again within 5 s (docs/FAULTS.md). The jitter spreads thousands
      // of screens over the wait.
      var delay = Math.min(3000, 250 * Math.pow(2, attempt)) * (0.5 + Math.random() / 2);
      setTimeout(connect, delay);
    };
  }

  // Written questions: with the personal code this phone remembers (if any), or without.
  var remembered = "";
  try { remembered = localStorage.getItem(CODE_KEY) || ""; } catch (e) { remembered = ""; }
  if (remembered) { el("ask-code").value = remembered; el("ask-code-hint").hidden = false; }
  var errorText = {
    personal_code_wrong: "Mã cá nhân không đúng. Hãy kiểm tra lại mã in trên thẻ, hoặc xoá mã để gửi không ghi tên.",
    no_session_on_stage: "Chưa có phiên họp nào đang diễn ra.",
    session_closed: "Phiên họp đã kết thúc.",
    too_many_attempts: "Bạn đã gửi nhiều lần, vui lòng đợi rồi thử lại."
  };
  el("ask-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var result = el("ask-result"), text = el("ask-text").value.trim();
    var code = el("ask-code").value.trim();
    if (!text) { return; }
    el("ask-send").disabled = true;
    result.className = "ask-result";
    result.textContent = "Đang gửi…";
    fetch("/api/v1/follow/" + encodeURIComponent(token) + "/questions", {
      method: "POST", credentials: "omit",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(code ? { text: text, code: code } : { text: text })
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) { return [r.status, body]; });
    }).then(function (answer) {
      var status = answer[0], body = answer[1];
      if (status === 201) {
        result.className = "ask-result ok";
        result.textContent = "Đã gửi câu hỏi; câu hỏi chờ Ban tổ chức duyệt.";
        el("ask-text").value = "";
      } else {
        result.className = "ask-result err";
        result.textContent = errorText[body.code] || body.detail || "Không gửi được câu hỏi.";
      }
    }).catch(function () {
      result.className = "ask-result err";
      result.textContent = "Mất kết nối, hãy thử lại.";
    }).then(function () { el("ask-send").disabled = false; });
  });

  readAgendaIds();
  render(initial);
  connect();
})();
