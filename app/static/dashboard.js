// Live dashboard: totals, rows (100 per page, over HTTP), arrivals chart (inline SVG),
// incidents, the sites back from a network cut (offline syncs) and the T-15 missing list,
// kept current by /ws/dashboard (snapshot, then coalesced updates with a version;
// reconnect with backoff and resume with since=).
// Also the print button of the report page. No library, no outside asset.
(function () {
  "use strict";

  var printButton = document.getElementById("print");
  if (printButton) printButton.addEventListener("click", function () { window.print(); });

  var configEl = document.getElementById("dashboard-config");
  if (!configEl) return;
  var cfg = JSON.parse(configEl.textContent);
  var SVG = "http://www.w3.org/2000/svg";
  var KIND_ORDER = ["central", "hub", "ward", "commune", "special_zone", "department",
    "organization", "other"];
  var CHART_MINUTES = 120;
  var CHART_MIN_MINUTES = 30;

  var state = {
    version: null, totals: null, rollups: new Map(), arrivals: new Map(), incidents: [], syncs: [],
    filter: "", q: "", offset: 0, total: 0, rows: [], rowEls: new Map(), fetchSeq: 0,
  };
  var $ = function (id) { return document.getElementById(id); };

  // ------------------------------------------------------------- formats

  function num(n) {
    if (n === null || n === undefined) return "";
    var s = String(Math.round(n));
    var neg = s.charAt(0) === "-";
    if (neg) s = s.slice(1);
    return (neg ? "-" : "") + s.replace(/\B(?=(\d{3})+(?!\d))/g, ".");
  }
  function pct(part, whole) {
    if (!whole) return "";
    return (Math.round((part / whole) * 1000) / 10).toFixed(1).replace(".", ",") + "%";
  }
  var timeParts = new Intl.DateTimeFormat("en-GB", {
    timeZone: "Asia/Ho_Chi_Minh", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  });
  function localTime(iso) {
    if (!iso) return "";
    var p = {};
    timeParts.formatToParts(new Date(iso)).forEach(function (x) { p[x.type] = x.value; });
    return p.day + "/" + p.month + "/" + p.year + " " + p.hour + ":" + p.minute;
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function present(row) { return Math.max(row.checked_in || 0, row.headcount || 0); }

  // -------------------------------------------------------------- tiles

  function renderTiles() {
    var t = state.totals;
    if (!t) return;
    $("t-online").textContent = num(t.sites_online);
    $("t-sites").textContent = num(t.sites);
    $("t-ready").textContent = num(t.sites_ready);
    $("t-missing").textContent = num(t.sites_missing);
    // Sites marked ready without a screen online are in that count: say so.
    $("t-ready-offline").textContent = num(t.sites_ready_offline);
    $("t-ready-offline-note").hidden = !t.sites_ready_offline;
    $("t-present").textContent = num(t.present);
    $("t-checked").textContent = num(t.checked_in);
    $("t-headcount").textContent = num(t.headcount);
    $("t-expected").textContent = num(t.expected);
    $("t-rate").textContent = pct(t.present, t.expected) || "–";
  }

  // --------------------------------------------------------------- rows

  function pathIds(row) {
    return String(row.path || "").split("/").filter(Boolean).map(Number);
  }
  // The outermost hub above (or at) a row, among the rollups the snapshot carried.
  function groupOf(row) {
    var ids = pathIds(row);
    for (var i = 0; i < ids.length; i++) {
      var r = ids[i] === row.site_id && row.kind === "hub" ? row : state.rollups.get(ids[i]);
      if (r && r.kind === "hub") return r.site_id;
    }
    return null;
  }

  function presenceCell(td, row) {
    td.textContent = "";
    td.appendChild(el("span", "dot" + (row.online ? " on" : "")));
    td.appendChild(document.createTextNode(row.online ? "trực tuyến" : "ngoại tuyến"));
    td.className = "presence " + (row.online ? "online" : "offline");
  }
  function readinessCell(td, row) {
    td.textContent = "";
    td.appendChild(el("span", "badge r-" + row.readiness, cfg.readiness[row.readiness] || row.readiness));
  }
  function rateCell(td, p, expected) {
    td.textContent = "";
    if (!expected) { td.textContent = "–"; return; }
    var ratio = p / expected;
    var bar = el("span", "bar" + (ratio < 0.5 ? " low" : ""));
    var fill = el("i");
    fill.style.width = Math.min(100, Math.round(ratio * 100)) + "%";
    bar.appendChild(fill);
    td.appendChild(document.createTextNode(pct(p, expected) + " "));
    td.appendChild(bar);
  }

  function fillRow(tr, row) {
    var cells = tr.children;
    cells[0].textContent = row.name;
    // Back from the network cut: what its devices queued meanwhile, and when it came.
    if (row.sync) cells[0].appendChild(el("small", "sync-note", row.sync.text));
    cells[1].textContent = cfg.kinds[row.kind] || row.kind;
    presenceCell(cells[2], row);
    readinessCell(cells[3], row);
    cells[4].textContent = num(present(row)) + " / " + num(row.expected);
    rateCell(cells[5], present(row), row.expected);
    tr.classList.toggle("below-half", row.expected > 0 && 2 * present(row) < row.expected);
  }

  function siteRow(row, baseDepth) {
    var tr = el("tr");
    tr.dataset.site = row.site_id;
    for (var i = 0; i < 6; i++) tr.appendChild(el("td"));
    tr.children[0].className = "depth-" + Math.max(0, Math.min(8, row.depth - baseDepth));
    tr.children[4].className = "num";
    fillRow(tr, row);
    return tr;
  }

  function groupHeader(hub) {
    var tr = el("tr", "group-row");
    tr.dataset.group = hub.site_id;
    var td = el("td");
    td.colSpan = 6;
    var params = new URLSearchParams();
    params.set("under_id", hub.site_id);
    if (cfg.session_id) params.set("session_id", cfg.session_id);
    var a = el("a", null, hub.name);
    a.href = "/conferences/" + cfg.conference_id + "/dashboard?" + params.toString();
    td.appendChild(a);
    td.appendChild(el("span", "muted group-figures"));
    tr.appendChild(td);
    fillGroup(tr, hub);
    return tr;
  }
  function fillGroup(tr, hub) {
    var t = hub.totals || {};
    tr.querySelector(".group-figures").textContent =
      " · trực tuyến " + num(t.sites_online) + "/" + num(t.sites) +
      " · sẵn sàng " + num(t.sites_ready) +
      " · có mặt " + num(t.present) + " / " + num(t.expected) +
      (t.expected ? " (" + pct(t.present, t.expected) + ")" : "");
  }

  function renderRows() {
    var body = $("rows");
    body.textContent = "";
    state.rowEls = new Map();
    if (!state.rows.length) {
      var empty = el("tr");
      var td = el("td", "muted", state.q || state.filter ? "Không có điểm cầu nào phù hợp." : "Chưa có điểm cầu.");
      td.colSpan = 6;
      empty.appendChild(td);
      body.appendChild(empty);
    }
    // Groups in order of first appearance; inside a group, by kind, then tree order.
    var groups = [], byGroup = new Map();
    state.rows.forEach(function (row, index) {
      var g = groupOf(row);
      if (!byGroup.has(g)) { byGroup.set(g, []); groups.push(g); }
      byGroup.get(g).push({ row: row, index: index });
    });
    var minDepth = state.rows.reduce(function (m, r) { return Math.min(m, r.depth); }, 99);
    groups.forEach(function (g) {
      var items = byGroup.get(g);
      var hub = g === null ? null : (state.rollups.get(g) || items[0].row);
      if (hub) body.appendChild(groupHeader(hub));
      else if (groups.length > 1) {
        var other = el("tr", "group-row");
        var c = el("td", null, "Các điểm cầu khác");
        c.colSpan = 6;
        other.appendChild(c);
        body.appendChild(other);
      }
      items.sort(function (a, b) {
        var ka = KIND_ORDER.indexOf(a.row.kind), kb = KIND_ORDER.indexOf(b.row.kind);
        return ka - kb || a.index - b.index;
      });
      var lastKind = null;
      items.forEach(function (item) {
        var row = item.row;
        if (row.kind !== lastKind && row.kind !== "hub" && row.kind !== "central") {
          var kr = el("tr", "kind-row");
          var kc = el("td", null, cfg.kinds[row.kind] || row.kind);
          kc.colSpan = 6;
          kr.appendChild(kc);
          body.appendChild(kr);
        }
        lastKind = row.kind;
        var tr = siteRow(row, hub ? hub.depth : minDepth);
        state.rowEls.set(row.site_id, { tr: tr, row: row });
        body.appendChild(tr);
      });
    });
    var pages = Math.max(1, Math.ceil(state.total / cfg.page_size));
    var page = Math.floor(state.offset / cfg.page_size) + 1;
    $("page-info").textContent = "Trang " + num(page) + "/" + num(pages) + " · " + num(state.total) + " điểm cầu";
    $("prev").disabled = state.offset <= 0;
    $("next").disabled = state.offset + cfg.page_size >= state.total;
  }

  function apiUrl(path, extra) {
    var params = new URLSearchParams();
    if (cfg.session_id) params.set("session_id", cfg.session_id);
    if (cfg.under_id) params.set("under_id", cfg.under_id);
    Object.keys(extra || {}).forEach(function (k) {
      if (extra[k] !== "" && extra[k] !== null && extra[k] !== undefined) params.set(k, extra[k]);
    });
    return "/api/v1/conferences/" + cfg.conference_id + path + "?" + params.toString();
  }

  function loadRows() {
    var seq = ++state.fetchSeq;
    var url = apiUrl("/dashboard/sites", {
      filter: state.filter, q: state.q, offset: state.offset, limit: cfg.page_size,
    });
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (page) {
        if (seq !== state.fetchSeq) return;  // a newer request answers
        state.rows = page.rows;
        state.total = page.total;
        renderRows();
      })
      .catch(function () { /* the next update or reconnect tries again */ });
  }
  var reloadTimer = null;
  function reloadSoon(ms) {
    if (reloadTimer) return;
    reloadTimer = setTimeout(function () { reloadTimer = null; loadRows(); }, ms);
  }

  // -------------------------------------------------------------- chart

  function minuteKey(d) {
    var p = {};
    timeParts.formatToParts(d).forEach(function (x) { p[x.type] = x.value; });
    return p.year + "-" + p.month + "-" + p.day + "T" + p.hour + ":" + p.minute;
  }
  function renderChart() {
    var box = $("arrivals");
    var keys = Array.from(state.arrivals.keys()).sort();
    if (!keys.length) { box.innerHTML = '<p class="muted">Chưa có lượt điểm danh.</p>'; return; }
    // Every minute from the first to the last (or now), the most recent CHART_MINUTES.
    var first = new Date(keys[0] + ":00+07:00").getTime();
    var last = new Date(keys[keys.length - 1] + ":00+07:00").getTime();
    // At least CHART_MIN_MINUTES wide, so a few minutes do not draw as a block.
    var start = Math.max(first, last - (CHART_MINUTES - 1) * 60000);
    start = Math.min(start, last - (CHART_MIN_MINUTES - 1) * 60000);
    var series = [];
    for (var t = start; t <= last; t += 60000) {
      var k = minuteKey(new Date(t));
      series.push([k, state.arrivals.get(k) || 0]);
    }
    var total = 0;
    state.arrivals.forEach(function (v) { total += v; });
    var max = series.reduce(function (m, s) { return Math.max(m, s[1]); }, 1);
    // Drawn at the box's own width, so labels keep their size.
    var W = Math.max(240, Math.round(box.clientWidth || 300)), H = 160, L = 36, B = 18, T = 8;
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", "Lượt điểm danh theo phút, tổng " + num(total));
    var bw = (W - L) / series.length;
    var bars = document.createElementNS(SVG, "g");
    bars.setAttribute("class", "bars");
    series.forEach(function (s, i) {
      if (!s[1]) return;
      var h = ((H - B - T) * s[1]) / max;
      var r = document.createElementNS(SVG, "rect");
      r.setAttribute("x", (L + i * bw + bw * 0.1).toFixed(1));
      r.setAttribute("width", Math.max(1, bw * 0.8).toFixed(1));
      r.setAttribute("y", (H - B - h).toFixed(1));
      r.setAttribute("height", h.toFixed(1));
      var title = document.createElementNS(SVG, "title");
      title.textContent = s[0].slice(11) + ": " + num(s[1]) + " lượt";
      r.appendChild(title);
      bars.appendChild(r);
    });
    svg.appendChild(bars);
    var axis = document.createElementNS(SVG, "path");
    axis.setAttribute("class", "axis");
    axis.setAttribute("d", "M" + L + " " + T + "V" + (H - B) + "H" + W);
    svg.appendChild(axis);
    function label(x, y, text, anchor) {
      var e = document.createElementNS(SVG, "text");
      e.setAttribute("x", x); e.setAttribute("y", y);
      e.setAttribute("text-anchor", anchor || "start");
      e.textContent = text;
      svg.appendChild(e);
    }
    label(L - 4, T + 8, num(max), "end");
    label(L - 4, H - B, "0", "end");
    var ticks = Math.min(6, series.length);
    for (var j = 0; j < ticks; j++) {
      var idx = ticks === 1 ? 0 : Math.round((j * (series.length - 1)) / (ticks - 1));
      // The last label ends at the right edge: centred under the last bar, half of it
      // fell outside the drawing and was cut off.
      var lastTick = ticks > 1 && j === ticks - 1;
      label(lastTick ? W - 1 : L + idx * bw + bw / 2, H - 4, series[idx][0].slice(11),
            lastTick ? "end" : "middle");
    }
    box.textContent = "";
    box.appendChild(svg);
    box.appendChild(el("p", "muted small", "Tổng " + num(total) + " lượt điểm danh; cột: số lượt mỗi phút (giờ Việt Nam)."));
  }
  var chartTimer = null;
  function chartSoon() {
    if (chartTimer) return;
    chartTimer = setTimeout(function () { chartTimer = null; renderChart(); }, 1000);
  }

  // ------------------------------------------------------ incidents, T-15

  function renderIncidents() {
    var list = $("incidents");
    list.textContent = "";
    if (!state.incidents.length) { list.appendChild(el("li", "muted", "Không có sự cố.")); return; }
    state.incidents.forEach(function (i) {
      var li = el("li", i.resolved_at ? "resolved" : "open");
      li.appendChild(el("time", null, localTime(i.opened_at)));
      li.appendChild(document.createTextNode(" "));
      li.appendChild(el("strong", null, i.site_name));
      li.appendChild(document.createTextNode(": " + i.reason + (i.resolved_at ? " (đã khắc phục " + localTime(i.resolved_at) + ")" : "")));
      list.appendChild(li);
    });
  }

  // Sites that sent their offline queue, newest first (the server words each line).
  function renderSyncs() {
    var list = $("syncs");
    list.textContent = "";
    if (!state.syncs.length) { list.appendChild(el("li", "muted", "Chưa có điểm cầu nào đồng bộ sau khi mất kết nối.")); return; }
    state.syncs.forEach(function (s) {
      var li = el("li");
      li.dataset.site = s.site_id;
      li.appendChild(el("strong", null, s.site_name));
      li.appendChild(document.createTextNode(": " + s.text));
      list.appendChild(li);
    });
  }

  function loadMissing() {
    var params = cfg.session_id ? { session_id: cfg.session_id } : {};
    var url = "/api/v1/conferences/" + cfg.conference_id + "/missing?" + new URLSearchParams(params).toString();
    return fetch(url, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        var list = $("missing");
        list.textContent = "";
        var sites = data.sites || [];
        if (cfg.root_id) {
          sites = sites.filter(function (s) { return String(s.path).indexOf("/" + cfg.root_id + "/") >= 0; });
        }
        $("missing-at").textContent = "Tính tại " + localTime(data.at) + ": " + num(sites.length) + " điểm cầu";
        if (!sites.length) { list.appendChild(el("li", "muted", "Tất cả điểm cầu đã sẵn sàng.")); return; }
        sites.slice(0, 200).forEach(function (s) {
          var li = el("li");
          li.dataset.site = s.site_id;
          li.appendChild(el("strong", null, s.name));
          var why = s.reasons.map(function (r) { return cfg.reasons[r] || r; }).join(", ");
          // Marked ready by the site, yet listed: the screen is why, not the site's word.
          if (s.readiness === "ready" || s.readiness === "tested") why = "đã báo «" + (cfg.readiness[s.readiness] || s.readiness) + "» nhưng " + why;
          li.appendChild(document.createTextNode(": " + why));
          list.appendChild(li);
        });
        if (sites.length > 200) list.appendChild(el("li", "muted", "… và " + num(sites.length - 200) + " điểm cầu khác (lọc “Chỉ điểm cầu chưa sẵn sàng” để xem hết)."));
      })
      .catch(function () { $("missing-at").textContent = "Chưa tải được danh sách."; });
  }
  var missingTimer = null;
  function missingSoon() {
    if (missingTimer) return;
    missingTimer = setTimeout(function () { missingTimer = null; loadMissing(); }, 1500);
  }

  // ------------------------------------------------------------ messages

  function setRollups(list, reset) {
    if (reset) state.rollups = new Map();
    (list || []).forEach(function (r) { state.rollups.set(r.site_id, r); });
  }

  function applySnapshot(msg) {
    state.version = msg.version;
    state.totals = msg.totals;
    setRollups(msg.rollups, true);
    state.arrivals = new Map((msg.arrivals || []).map(function (a) { return [a[0], a[1]]; }));
    state.incidents = msg.incidents || [];
    state.syncs = msg.syncs || [];
    renderTiles();
    renderChart();
    renderIncidents();
    renderSyncs();
    loadRows();
    loadMissing();
  }

  function applyUpdate(msg) {
    state.version = msg.version;
    if (msg.totals) { state.totals = msg.totals; renderTiles(); }
    setRollups(msg.rollups, false);
    (msg.rollups || []).forEach(function (r) {
      var header = document.querySelector('tr.group-row[data-group="' + r.site_id + '"]');
      if (header) fillGroup(header, r);
    });
    var presenceChanged = false;
    (msg.sites || []).forEach(function (row) {
      var shown = state.rowEls.get(row.site_id);
      if (shown) {
        if (shown.row.online !== row.online || shown.row.readiness !== row.readiness) presenceChanged = true;
        shown.row = row;
        fillRow(shown.tr, row);
        shown.tr.classList.remove("flash-row");
        void shown.tr.offsetWidth;  // restart the highlight
        shown.tr.classList.add("flash-row");
      } else {
        presenceChanged = true;
      }
    });
    if (msg.refresh || state.filter || state.q) reloadSoon(msg.refresh ? 0 : 2000);
    if ((msg.arrivals_tail || []).length) {
      msg.arrivals_tail.forEach(function (a) { state.arrivals.set(a[0], a[1]); });
      chartSoon();
    }
    if (msg.incidents) { state.incidents = msg.incidents; renderIncidents(); presenceChanged = true; }
    if (msg.syncs) { state.syncs = msg.syncs; renderSyncs(); }
    if (presenceChanged) missingSoon();
  }

  // ----------------------------------------------------------- the socket

  var socket = null, backoff = 500, pingTimer = null, stopped = false;
  var FATAL = { 4400: "Yêu cầu không hợp lệ.", 4401: "Phiên đăng nhập đã hết, hãy đăng nhập lại.",
    4403: "Không có quyền xem phạm vi này.", 4404: "Không tìm thấy hội nghị hoặc phiên." };

  function status(text, cls) {
    var s = $("conn");
    s.textContent = text;
    s.className = "conn " + (cls || "");
  }

  function connect() {
    var params = new URLSearchParams({ conference_id: cfg.conference_id });
    if (cfg.session_id) params.set("session_id", cfg.session_id);
    if (cfg.under_id) params.set("under_id", cfg.under_id);
    if (state.version !== null) params.set("since", state.version);
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(proto + location.host + "/ws/dashboard?" + params.toString());
    socket.onopen = function () {
      backoff = 500;
      status("Đang cập nhật trực tiếp", "live");
      clearInterval(pingTimer);
      pingTimer = setInterval(function () {
        if (socket && socket.readyState === 1) socket.send("ping");
      }, 25000);
    };
    socket.onmessage = function (event) {
      var msg;
      try { msg = JSON.parse(event.data); } catch (e) { return; }
      if (msg.type === "snapshot") applySnapshot(msg);
      else if (msg.type === "update") applyUpdate(msg);
      else if (msg.type === "resumed") state.version = msg.version;
    };
    socket.onclose = function (event) {
      clearInterval(pingTimer);
      socket = null;
      if (stopped) return;
      if (FATAL[event.code]) { status(FATAL[event.code], "down"); return; }
      // Shed in a storm (1013): come back when the server said, without growing the backoff.
      var later = window.DiemcauRetry ? window.DiemcauRetry.after(event) : null;
      if (later !== null) {
        status("Máy chủ đang bận, kết nối lại sau " + Math.round(later / 1000) + " giây…", "down");
        setTimeout(connect, later);
        return;
      }
      // First retry within half a second, then never more than 3 s apart: a restarted
      // service is live again on the board within 5 s (docs/FAULTS.md).
      var wait = Math.min(3000, backoff) * (0.5 + Math.random() * 0.5);
      backoff = Math.min(3000, backoff * 2);
      status("Mất kết nối, thử lại sau " + Math.max(1, Math.round(wait / 1000)) + " giây…", "down");
      setTimeout(connect, wait);
    };
  }
  window.addEventListener("pagehide", function () { stopped = true; if (socket) socket.close(); });

  // -------------------------------------------------------------- controls

  document.querySelectorAll('#row-filters input[name="filter"]').forEach(function (input) {
    input.addEventListener("change", function () {
      state.filter = input.value;
      state.offset = 0;
      loadRows();
    });
  });
  var searchTimer = null;
  $("q").addEventListener("input", function () {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(function () {
      state.q = $("q").value.trim();
      state.offset = 0;
      loadRows();
    }, 250);
  });
  $("prev").addEventListener("click", function () {
    state.offset = Math.max(0, state.offset - cfg.page_size);
    loadRows();
  });
  $("next").addEventListener("click", function () {
    state.offset += cfg.page_size;
    loadRows();
  });
  setInterval(loadMissing, 30000);
  // Seconds pass while nothing happens: redraw the chart's time axis once a minute.
  setInterval(function () { if (state.arrivals.size) renderChart(); }, 60000);

  connect();
})();
