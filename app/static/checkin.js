// Coordinator check-in desk. A keyboard-wedge scanner types the code and Enter into #code;
// scans are queued and sent one at a time to POST /api/v1/checkins with a nonce per scan
// (a retried request is then recorded once). Runs for hours: no growing lists, no reloads.
// Without network (offline.js, offline_sync.js) a scan is judged on the device (pass
// signature, roster, "already seen here") and queued with its own time and nonce; a name
// search looks in the roster kept on the device.
(function () {
  "use strict";
  var root = document.getElementById("checkin");
  if (!root) { return; }
  var SITE = Number(root.dataset.siteId);
  var CONF = Number(root.dataset.conferenceId);
  var CSRF = root.dataset.csrf || "";
  var USER = Number(root.dataset.userId);
  var O = window.DiemcauOffline;
  var desk = window.DiemcauDesk;
  var roster = null;
  var passKeys = [];
  var ROSTER_MS = 10 * 60 * 1000;
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

  var nonce = O.nonce;  // offline.js: crypto.randomUUID, or its fallback over plain http

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
    var sent = desk && desk.isOffline() ? Promise.resolve(null) : post(payload, 0);
    sent.then(function (res) {
      // No network, or the login is gone: the scan is not lost, it waits on the device.
      if (desk && (!res || res[0] === 0 || res[0] === 401)) {
        if (res && res[0] === 401) { desk.loseAuth(); } else { desk.setOffline(true); }
        return offlineScan(job, payload.nonce);
      }
      show(view(res[0], res[1]));
      if (res[0] === 201) { refreshCount(); }
      if (res[0] === 200 || res[0] === 201) { seenOnline(res[1]); }
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
  sessionSelect.addEventListener("change", function () {
    nameSession(); refreshCount(); downloadRoster(true); input.focus();
  });

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
        if (desk) { desk.setOffline(false); }
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
    if (desk && desk.isOffline()) { renderResults(localSearch(q)); return; }
    searchAbort = window.AbortController ? new AbortController() : null;
    var url = "/api/v1/conferences/" + CONF + "/attendees?limit=20&q=" + encodeURIComponent(q);
    if (searchSite.checked) { url += "&site_id=" + SITE; }
    if (sessionId()) { url += "&session_id=" + sessionId(); }
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" }, signal: searchAbort ? searchAbort.signal : undefined })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(renderResults)
      .catch(function (e) {
        if (e && e.name === "AbortError") { return; }  // a newer search took over
        if (desk) { desk.setOffline(true); renderResults(localSearch(q)); }
      });
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
        if (status !== 200 && status !== 201 && status !== 202) {
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
    if (!items || !items.length) {
      var none = document.createElement("li");
      none.className = "muted";
      none.textContent = items ? "Không tìm thấy đại biểu." : "Mất kết nối và máy chưa tải danh sách đại biểu: hãy quét thẻ.";
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

  // ---------------------------------------------------------------- offline
  function sessionKey() { return String(sessionId() || 0); }

  // When the desk saw someone: marked here, or known checked in when the roster came.
  function seenAt(who, attendee) {
    var at = desk.seenAt(sessionKey(), who);
    if (!at && attendee && roster && String(roster.session_id || 0) === sessionKey()) {
      at = attendee.checked_in_at;
    }
    return at || null;
  }

  function seenOnline(body) {
    var a = body && body.attendee;
    if (desk && a && a.id) { desk.markSeen(sessionKey(), "a" + a.id, body.checked_in_at); }
  }

  function offlineView(j, at) {
    var a = j.attendee;
    var name = a ? a.full_name : "";
    if (!a) {
      return { kind: "warn", title: "Đã lưu, chờ gửi", status: "queued_unknown",
               meta: "Không có trong danh sách đã tải về máy; máy chủ sẽ kiểm tra khi có mạng.",
               extra: j.short ? "Mã " + j.short.slice(0, 4) + "-" + j.short.slice(4) : "Thẻ QR" };
    }
    if (a.site_id !== SITE) {
      var home = roster && roster.sites[a.site_id];
      return { kind: "warn", title: "Đại biểu của điểm cầu khác · đã lưu, chờ gửi", name: name,
               meta: [a.unit, home ? "Đại biểu của: " + home : ""].filter(Boolean).join(" · "),
               extra: "Lúc " + hhmm(at), status: "queued" };
    }
    return { kind: "ok", title: "Đã điểm danh · chờ gửi", name: name, meta: a.unit,
             extra: "Lúc " + hhmm(at) + " (mất mạng: lưu trên máy, gửi khi có mạng)", status: "queued" };
  }

  // A scan with no network: judged here, queued with its own time and nonce (the server
  // judges it again on sync); someone already seen here is not queued twice.
  function offlineScan(job, scanNonce) {
    return O.judge(job.code, roster, passKeys, CONF).then(function (j) {
      if (j.verdict === "refused") {
        show({ kind: "err", title: "Không điểm danh được", meta: j.detail, status: j.code });
        if (job.done) { job.done(400, { code: j.code, detail: j.detail }); }
        return null;
      }
      var earlier = seenAt(j.who, j.attendee);
      if (earlier) {
        show({ kind: "warn", title: "Đã điểm danh lúc " + hhmm(earlier), name: j.attendee && j.attendee.full_name,
               meta: j.attendee && j.attendee.unit, status: "already_checked_in" });
        if (job.done) { job.done(200, { checked_in_at: earlier }); }
        return null;
      }
      var at = new Date().toISOString();
      var label = j.attendee ? j.attendee.full_name : (j.short ? "Mã " + j.short : "Thẻ QR");
      return desk.enqueue({ kind: "scan", nonce: scanNonce, at: at, code: job.code.slice(0, 200),
                            session_id: sessionId(), method: job.method, label: label,
                            sessionKey: sessionKey() })
        .then(function () { return desk.markSeen(sessionKey(), j.who, at); })
        .then(function () {
          show(offlineView(j, at));
          if (job.done) { job.done(202, { checked_in_at: at }); }
        });
    }).catch(function () {
      show({ kind: "err", title: "Không lưu được lượt quét trên máy", meta: "Quét lại khi có mạng.", status: "storage" });
    });
  }

  function localSearch(q) {
    if (!roster) { return null; }
    return O.searchRoster(roster, q, 20).map(function (a) {
      return { full_name: a.full_name, unit: a.unit, site_name: roster.sites[a.site_id] || "",
               short_code: a.short_code, checked_in_at: seenAt("a" + a.id, a) };
    });
  }

  function rosterStatus() {
    var p = el("roster-status");
    if (!p) { return; }
    if (!roster) { p.textContent = "Chưa tải danh sách đại biểu về máy (cần có mạng)."; return; }
    var end = new Date(roster.delete_after);
    p.textContent = "Danh sách " + numberFmt.format(roster.attendees.length) + " đại biểu đã tải về máy lúc "
      + hhmm(roster.stored_at) + " để tìm và điểm danh khi mất mạng; tự xoá khi hội nghị kết thúc ("
      + new Intl.DateTimeFormat("vi-VN", { timeZone: "Asia/Ho_Chi_Minh", day: "2-digit", month: "2-digit", year: "numeric" })
        .format(new Date(end.getTime() - 1)) + ") hoặc khi đăng xuất.";
  }

  // While online: the roster of this site (and the sites below) and the public pass keys;
  // again when the session changes, else at most every ROSTER_MS (each download is an
  // export of personal data, on the audit log).
  function downloadRoster(force) {
    if (!desk || desk.isOffline()) { return; }
    var fresh = roster && roster.conference_id === CONF && String(roster.session_id || 0) === sessionKey()
      && Date.now() - new Date(roster.stored_at).getTime() < ROSTER_MS;
    if (fresh && !force) { return; }
    var url = "/api/v1/sites/" + SITE + "/offline-roster?conference_id=" + CONF;
    if (sessionId()) { url += "&session_id=" + sessionId(); }
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) { return body ? O.storeRoster(SITE, USER, body) : roster; })
      .then(function (r) { roster = r; rosterStatus(); })
      .catch(function () { /* offline again: the kept roster stays */ });
    O.fetchKeys().then(function (k) { passKeys = k; }).catch(function () { /* keep the kept keys */ });
  }

  if (O && desk) {
    O.loadRoster(SITE, USER).then(function (r) {
      roster = r && r.conference_id === CONF ? r : null;
      rosterStatus();
      downloadRoster(false);
      setInterval(function () { downloadRoster(false); }, ROSTER_MS / 4);
    }).catch(function () { rosterStatus(); });
    O.loadKeys().then(function (k) { if (!passKeys.length) { passKeys = k; } }).catch(function () { /* none kept */ });
  }

  window.diemcauCheckin = {  // for tests
    queueLength: function () { return queue.length; },
    rosterSize: function () { return roster ? roster.attendees.length : 0; }
  };
  input.focus();
})();
