// Coordinator check-in desk. A keyboard-wedge scanner types the code and Enter into #code;
// scans are queued and sent one at a time to POST /api/v1/checkins with a nonce per scan
// (a retried request is then recorded once). Runs for hours: no growing lists, no reloads.
(function () {
  "use strict";
  var root = document.getElementById("checkin");
  if (!root) { return; }
  var SITE = Number(root.dataset.siteId);
  var CONF = Number(root.dataset.conferenceId);
  var CSRF = root.dataset.csrf || "";
  var HISTORY_MAX = 50;
  var QUEUE_MAX = 30;
  var POLL_MS = 5000;
  var el = function (id) { return document.getElementById(id); };
  var input = el("code");
  var form = el("scan-form");
  var sessionSelect = el("session");
  var resultBox = el("result");
  var pendingText = el("pending");
  var history = el("history");
  var searchInput = el("search-q");
  var searchResults = el("search-results");
  var searchSite = el("search-site");
  var queue = [];
  var busy = false;
  var timeFmt = new Intl.DateTimeFormat("vi-VN", {
    timeZone: "Asia/Ho_Chi_Minh", hour: "2-digit", minute: "2-digit", hour12: false
  });
  var numberFmt = new Intl.NumberFormat("vi-VN");

  // crypto.randomUUID needs a secure context; a desk on http://192.168.x.x is not one.
  function nonce() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 15) | 64;
    b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  var DEVICE_KEY = "diemcau.checkin.device";
  var device = localStorage.getItem(DEVICE_KEY);
  if (!device) {
    device = "web-" + nonce().slice(0, 8);
    try { localStorage.setItem(DEVICE_KEY, device); } catch (e) { /* private mode */ }
  }

  // ------------------------------------------------------------------ sound
  var audio = null;
  function beep(kind) {
    try {
      var AC = window.AudioContext || window.webkitAudioContext;
      if (!AC) { return; }
      if (!audio) { audio = new AC(); }
      if (audio.state === "suspended") { audio.resume(); }
      var tones = { ok: [[880, 0, 0.12]], warn: [[520, 0, 0.1], [520, 0.16, 0.1]], err: [[200, 0, 0.35]] }[kind];
      tones.forEach(function (t) {
        var osc = audio.createOscillator();
        var gain = audio.createGain();
        osc.type = kind === "err" ? "square" : "sine";
        osc.frequency.value = t[0];
        var start = audio.currentTime + t[1];
        gain.gain.setValueAtTime(0.0001, start);
        gain.gain.exponentialRampToValueAtTime(0.25, start + 0.01);
        gain.gain.exponentialRampToValueAtTime(0.0001, start + t[2]);
        osc.connect(gain).connect(audio.destination);
        osc.start(start);
        osc.stop(start + t[2] + 0.02);
      });
    } catch (e) { /* no sound is not a failure */ }
  }

  // ----------------------------------------------------------------- result
  function line(cls, text) {
    var d = document.createElement("div");
    d.className = cls;
    d.textContent = text;
    return d;
  }

  function hhmm(iso) {
    var d = iso ? new Date(iso) : new Date();
    return isNaN(d) ? "" : timeFmt.format(d);
  }

  function view(status, body) {
    // The same words as the server-rendered panel (checkin/pages.py result_view).
    if (status === 201 || status === 200) {
      var a = body.attendee || {};
      var when = hhmm(body.checked_in_at);
      if (body.status === "already_checked_in") {
        var where = body.site_name ? " tại " + body.site_name : "";
        return { kind: "warn", title: "Đã điểm danh lúc " + when + where, name: a.full_name, meta: a.unit, status: body.status };
      }
      if (body.foreign_site) {
        return { kind: "warn", title: "Đại biểu của điểm cầu khác", name: a.full_name,
                 meta: [a.unit, a.site_name ? "Đại biểu của: " + a.site_name : ""].filter(Boolean).join(" · "),
                 extra: "Lúc " + when, status: body.status };
      }
      return { kind: "ok", title: "Đã điểm danh", name: a.full_name, meta: a.unit, extra: "Lúc " + when, status: body.status };
    }
    if (status === 401) {
      return { kind: "err", title: "Phiên đăng nhập đã hết hạn", meta: "Hãy đăng nhập lại rồi tiếp tục.", status: "not_authenticated" };
    }
    if (status === 0) {
      return { kind: "err", title: "Mất kết nối", meta: "Không gửi được tới máy chủ. Quét lại khi có mạng.", status: "network" };
    }
    return { kind: "err", title: "Không điểm danh được", meta: (body && body.detail) || ("Lỗi " + status), status: (body && body.code) || "error" };
  }

  function show(v) {
    resultBox.className = "ci-result " + v.kind;
    resultBox.dataset.status = v.status;
    resultBox.textContent = "";
    resultBox.appendChild(line("title", v.title));
    if (v.name) { resultBox.appendChild(line("name", v.name)); }
    if (v.meta) { resultBox.appendChild(line("meta", v.meta)); }
    if (v.extra) { resultBox.appendChild(line("meta", v.extra)); }
    if (v.status === "not_authenticated") {
      var a = document.createElement("a");
      a.href = "/login?next=" + encodeURIComponent(location.pathname);
      a.textContent = "Đăng nhập";
      resultBox.appendChild(a);
    }
    beep(v.kind);
    var li = document.createElement("li");
    li.className = v.kind;
    var t = document.createElement("time");
    t.textContent = hhmm();
    li.appendChild(t);
    li.appendChild(document.createTextNode((v.name ? v.name + " — " : "") + v.title));
    history.insertBefore(li, history.firstChild);
    while (history.children.length > HISTORY_MAX) { history.removeChild(history.lastChild); }
  }

  // ------------------------------------------------------------------- scan
  function sessionId() {
    var v = Number(sessionSelect.value);
    return v > 0 ? v : null;
  }

  function post(payload, attempt) {
    return fetch("/api/v1/checkins", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": CSRF, "Accept": "application/json" },
      body: JSON.stringify(payload)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) { return [r.status, body]; });
    }, function () {
      // Network failure: the same nonce makes a retry safe even if the first one landed.
      if (attempt >= 2) { return [0, {}]; }
      return new Promise(function (ok) { setTimeout(ok, 600 * (attempt + 1)); })
        .then(function () { return post(payload, attempt + 1); });
    });
  }

  function updatePending() {
    pendingText.textContent = busy ? "Đang gửi…" + (queue.length ? " (còn " + queue.length + " mã chờ)" : "") : "";
  }

  function pump() {
    if (busy || !queue.length) { updatePending(); return; }
    var job = queue.shift();
    busy = true;
    resultBox.classList.add("busy");
    updatePending();
    var payload = { code: job.code, site_id: SITE, nonce: nonce(), device: device, method: job.method };
    var sid = sessionId();
    if (sid) { payload.session_id = sid; }
    post(payload, 0).then(function (res) {
      show(view(res[0], res[1]));
      if (res[0] === 201) { refreshCount(); }
      if (job.done) { job.done(res[0], res[1]); }
    }).then(function () {
      busy = false;
      resultBox.classList.remove("busy");
      // After a name-search check-in the desk stays where it is: refocusing the scan box
      // would open a phone's keyboard and scroll back to the top.
      if (job.method !== "search") { refocus(); }
      pump();
    });
  }

  function enqueue(code, method, done) {
    code = (code || "").trim();
    if (!code) { return; }
    if (queue.length >= QUEUE_MAX) { queue.shift(); }  // a stuck scanner must not grow memory
    queue.push({ code: code.slice(0, 300), method: method || "scan", done: done });
    pump();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var code = input.value;
    input.value = "";
    enqueue(code, "scan");
  });

  // Keep the scanner input focused, except while the user works the search box or session list.
  function refocus() {
    var a = document.activeElement;
    if (a === searchInput || a === sessionSelect || searchResults.contains(a)) { return; }
    input.focus();
  }
  input.addEventListener("blur", function () { setTimeout(refocus, 150); });
  document.addEventListener("click", function (event) {
    if (!event.target.closest("input, select, textarea, button, a, label")) { input.focus(); }
  });
  // Say which session the counter is about (the conference view counts every session).
  function nameSession() {
    var opt = sessionSelect.options[sessionSelect.selectedIndex];
    var title = opt && opt.dataset.title;
    el("count-session").textContent = title ? "Phiên: " + title : "Cả hội nghị (mọi phiên)";
  }
  sessionSelect.addEventListener("change", function () { nameSession(); refreshCount(); input.focus(); });

  // ------------------------------------------------------------------ count
  var pollTimer = null;
  function refreshCount() {
    clearTimeout(pollTimer);
    var url = "/api/v1/conferences/" + CONF + "/attendance?site_id=" + SITE;
    var sid = sessionId();
    if (sid) { url += "&session_id=" + sid; }
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (!body) { return; }
        var row = null;
        (body.sites || []).forEach(function (s) { if (s.site_id === SITE) { row = s; } });
        if (row) {
          el("count").textContent = numberFmt.format(row.checked_in || 0);
          if (row.expected !== undefined) { el("expected").textContent = numberFmt.format(row.expected); }
        }
      })
      .catch(function () { /* keep the last figure; the next poll retries */ })
      .then(function () { pollTimer = setTimeout(refreshCount, POLL_MS); });
  }
  refreshCount();

  // ----------------------------------------------------------------- search
  var searchTimer = null;
  var searchAbort = null;
  function runSearch() {
    var q = searchInput.value.trim();
    if (searchAbort) { searchAbort.abort(); }
    if (q.length < 2) { searchResults.textContent = ""; return; }
    searchAbort = window.AbortController ? new AbortController() : null;
    var url = "/api/v1/conferences/" + CONF + "/attendees?limit=20&q=" + encodeURIComponent(q);
    if (searchSite.checked) { url += "&site_id=" + SITE; }
    if (sessionId()) { url += "&session_id=" + sessionId(); }
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" }, signal: searchAbort ? searchAbort.signal : undefined })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(renderResults)
      .catch(function () { /* aborted by a newer search */ });
  }

  // "Đã có mặt" in the row itself: on a phone the big result panel is off-screen up top.
  function presentMark(at) {
    var mark = document.createElement("span");
    mark.className = "ci-present";
    mark.tabIndex = -1;  // takes the focus from the button it replaces
    mark.textContent = "Đã có mặt" + (at ? " · " + hhmm(at) : "");
    return mark;
  }

  function checkinButton(a) {
    var btn = document.createElement("button");
    btn.type = "button";
    btn.className = "primary small";
    btn.textContent = "Điểm danh";
    btn.dataset.code = a.short_code;
    btn.addEventListener("click", function () {
      if (btn.getAttribute("aria-disabled")) { return; }
      // Not `disabled`: a disabled button drops the focus to the page top.
      btn.setAttribute("aria-disabled", "true");
      btn.textContent = "Đang gửi…";
      enqueue(a.short_code, "search", function (status, body) {
        if (status !== 200 && status !== 201) {
          btn.removeAttribute("aria-disabled");
          btn.textContent = "Điểm danh";
          return;
        }
        var mark = presentMark(body.checked_in_at);
        var focused = document.activeElement === btn;
        btn.replaceWith(mark);
        if (focused) { mark.focus({ preventScroll: true }); }
      });
    });
    return btn;
  }

  function renderResults(items) {
    searchResults.textContent = "";
    if (!items.length) {
      var none = document.createElement("li");
      none.className = "muted";
      none.textContent = "Không tìm thấy đại biểu.";
      searchResults.appendChild(none);
      return;
    }
    items.forEach(function (a) {
      var li = document.createElement("li");
      var who = document.createElement("div");
      who.className = "who";
      var strong = document.createElement("strong");
      strong.textContent = a.full_name;
      who.appendChild(strong);
      var info = [a.position, a.unit, a.site_name].filter(Boolean).join(" · ");
      if (info) {
        var small = document.createElement("small");
        small.textContent = info;
        who.appendChild(document.createElement("br"));
        who.appendChild(small);
      }
      li.appendChild(who);
      li.appendChild(a.checked_in_at ? presentMark(a.checked_in_at) : checkinButton(a));
      searchResults.appendChild(li);
    });
  }

  searchInput.addEventListener("input", function () {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(runSearch, 250);
  });
  searchSite.addEventListener("change", runSearch);
  el("search-form").addEventListener("submit", function (event) {
    event.preventDefault();
    // A scanner firing while the search box has focus types a pass code here: treat it as a scan.
    var v = searchInput.value.trim();
    if (/^DC1[A-Z2-7]{20,}$/i.test(v)) {
      searchInput.value = "";
      searchResults.textContent = "";
      enqueue(v, "scan");
      return;
    }
    clearTimeout(searchTimer);
    runSearch();
  });

  // ----------------------------------------------------------------- camera
  var cameraBtn = el("camera-btn");
  var cameraBox = el("camera");
  var video = el("video");
  var stream = null;
  var detector = null;
  var lastCode = "";
  var lastAt = 0;
  if ("BarcodeDetector" in window && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    cameraBtn.hidden = false;
  }

  function stopCamera() {
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); }
    stream = null;
    video.srcObject = null;
    cameraBox.hidden = true;
    input.focus();
  }

  function detectLoop() {
    if (!stream) { return; }
    detector.detect(video).then(function (codes) {
      var now = Date.now();
      if (codes.length) {
        var value = codes[0].rawValue;
        // The camera sees the same pass many times a second: send it once per 3 s.
        if (value !== lastCode || now - lastAt > 3000) {
          lastCode = value;
          lastAt = now;
          enqueue(value, "scan");
        }
      }
    }).catch(function () { /* a frame that failed to decode */ })
      .then(function () { if (stream) { setTimeout(detectLoop, 200); } });
  }

  cameraBtn.addEventListener("click", function () {
    if (stream) { stopCamera(); return; }
    try { detector = new window.BarcodeDetector({ formats: ["qr_code"] }); } catch (e) {
      cameraBtn.hidden = true;
      return;
    }
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (s) {
        stream = s;
        video.srcObject = s;
        cameraBox.hidden = false;
        return video.play();
      })
      .then(detectLoop)
      .catch(function () {
        show({ kind: "err", title: "Không mở được camera", meta: "Hãy cho phép trang dùng camera, hoặc dùng máy quét.", status: "camera" });
      });
  });
  el("camera-stop").addEventListener("click", stopCamera);

  window.diemcauCheckin = { queueLength: function () { return queue.length; } };  // for tests
  input.focus();
})();
