// The floor's shared pieces (chair page, presenter console; the site screen and the
// follow page use its timer): the live socket
// /ws/floor with reconnect and resume, JSON API calls with the CSRF header, the
// speaker's timer and small formatting helpers. Exposed as window.DiemcauFloor.
(function () {
  "use strict";
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";
  var NETWORK = "Mất kết nối tới máy chủ, vui lòng thử lại.";
  var CLOSED = {
    4401: "Phiên đăng nhập đã hết hạn. Hãy tải lại trang và đăng nhập lại.",
    4403: "Chỉ văn phòng trung tâm mới điều hành phát biểu.",
    4404: "Không tìm thấy phiên họp.",
    4400: "Yêu cầu không hợp lệ. Hãy tải lại trang."
  };

  // A JSON request; resolves with the answer, rejects with a Vietnamese message.
  function api(method, path, body) {
    var init = { method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf } };
    if (body !== undefined) { init.body = JSON.stringify(body); }
    return fetch(path, init).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (json) {
        if (r.ok) { return json; }
        throw new Error(json.detail || "Không thực hiện được (mã " + r.status + ").");
      });
    }, function () { throw new Error(NETWORK); });
  }

  // The socket: calls onMessage(msg) with snapshots and states (never an older version),
  // onStatus("live" | "lost" | "connecting", text) on changes; reconnects with since=.
  function connect(opts) {
    var socket = null, version = null, retry = 0, timer = null, filters = "";
    function url() {
      var proto = location.protocol === "https:" ? "wss://" : "ws://";
      var q = "session_id=" + opts.sessionId + filters;
      if (version !== null) { q += "&since=" + version; }
      return proto + location.host + "/ws/floor?" + q;
    }
    function open() {
      timer = null;
      opts.onStatus("connecting", "Đang kết nối…");
      var mine = socket = new WebSocket(url());
      // A socket replaced (new filters) may still report: only the current one counts.
      mine.addEventListener("open", function () { if (socket === mine) { retry = 0; } });
      mine.addEventListener("message", function (event) {
        if (socket !== mine) { return; }
        var msg = JSON.parse(event.data);
        if (msg.type === "resumed") { opts.onStatus("live", "Trực tiếp"); return; }
        if (version !== null && msg.version < version) { return; }
        version = msg.version;
        opts.onStatus("live", "Trực tiếp");
        opts.onMessage(msg);
      });
      mine.addEventListener("close", function (event) {
        if (socket !== mine) { return; }
        socket = null;
        if (CLOSED[event.code]) { opts.onStatus("lost", CLOSED[event.code]); return; }
        opts.onStatus("lost", "Mất kết nối, đang thử lại…");
        // Shed in a storm (1013): come back when the server said, without growing the backoff.
        var later = window.DiemcauRetry ? window.DiemcauRetry.after(event) : null;
        if (later !== null) { timer = setTimeout(open, later); return; }
        retry = Math.min(retry + 1, 5);
        timer = setTimeout(open, 1000 * retry);
      });
    }
    open();
    return {
      // New filters: a fresh snapshot (a version of another filter's view says nothing).
      filter: function (hubId, kind) {
        filters = (hubId ? "&hub_id=" + hubId : "") + (kind ? "&kind=" + encodeURIComponent(kind) : "");
        version = null;
        if (timer) { clearTimeout(timer); }
        var old = socket;
        socket = null;
        if (old) { old.close(); }
        open();
      }
    };
  }

  function two(n) { return (n < 10 ? "0" : "") + n; }

  function clock(seconds) {
    var s = Math.max(0, Math.floor(seconds));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    return (h ? h + ":" + two(m) : two(m)) + ":" + two(s % 60);
  }

  // The speaker's timer at `nowMs` (server time): {text, over, label}.
  function timer(speaker, nowMs) {
    var spoken = (nowMs - Date.parse(speaker.started_at)) / 1000;
    if (!speaker.limit_seconds) { return { text: clock(spoken), over: false, label: "Đã nói" }; }
    var left = speaker.limit_seconds - spoken;
    if (left >= 0) { return { text: clock(left), over: false, label: "Còn lại" }; }
    return { text: "+" + clock(-left), over: true, label: "Quá giờ" };
  }

  // Fill a `.floor-timer` box (.timer-label, .timer-text, .overtime); true when over time.
  function showTimer(box, speaker, nowMs) {
    var t = timer(speaker, nowMs);
    box.querySelector(".timer-label").textContent = t.label;
    box.querySelector(".timer-text").textContent = t.text;
    box.querySelector(".overtime").hidden = !t.over;
    box.classList.toggle("over", t.over);
    return t.over;
  }

  // "vừa xong", "3 phút trước", "1 giờ 5 phút trước".
  function ago(iso, nowMs) {
    var s = Math.max(0, (nowMs - Date.parse(iso)) / 1000);
    if (s < 60) { return "vừa xong"; }
    var m = Math.floor(s / 60);
    if (m < 60) { return m + " phút trước"; }
    return Math.floor(m / 60) + " giờ " + (m % 60) + " phút trước";
  }

  function limitLabel(seconds) { return seconds ? Math.round(seconds / 60) + " phút" : "Không giới hạn"; }

  // An element with a class and text (no HTML parsing: names and topics are data).
  function node(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) { n.className = cls; }
    if (text !== undefined && text !== null) { n.textContent = text; }
    return n;
  }

  function button(text, cls, onClick) {
    var b = node("button", cls, text);
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  }

  // The server's clock minus ours, from a message's `now`.
  function skew(msg) { return msg.now ? Date.parse(msg.now) - Date.now() : 0; }

  function who(req) {
    return req.speaker_name + (req.speaker_position ? ", " + req.speaker_position : "");
  }

  // End the speaker, give the floor to a request: the two actions both views offer.
  function end(sessionId) { return api("POST", "/api/v1/sessions/" + sessionId + "/floor/end"); }
  function give(requestId, limit) {
    return api("POST", "/api/v1/floor/requests/" + requestId + "/give",
      { limit_seconds: limit || null });
  }

  window.DiemcauFloor = {
    api: api, connect: connect, timer: timer, showTimer: showTimer, ago: ago, clock: clock, limitLabel: limitLabel,
    node: node, button: button, skew: skew, who: who, end: end, give: give
  };
})();
