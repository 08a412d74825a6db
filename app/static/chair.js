// The chair's floor page: the speaker with a running timer, the queue in the order asked,
// the written questions; live over /ws/floor, every action over the JSON API (floor.js).
// Rows are kept by id and updated in place, so a reason being typed survives updates.
(function () {
  "use strict";
  var F = window.DiemcauFloor;
  var data = JSON.parse(document.getElementById("chair-data").textContent);
  var el = function (id) { return document.getElementById(id); };
  var kinds = {};
  var current = null;  // the last queue message
  var skewMs = 0;
  var rows = {};       // request id -> {li, parts}
  var qrows = {};      // question id -> {li, parts}

  function now() { return Date.now() + skewMs; }

  function showError(text) {
    var box = el("error");
    box.textContent = text || "";
    box.hidden = !text;
  }

  function act(promise) {
    return promise.then(function () { showError(""); }, function (err) { showError(err.message); });
  }

  // ---------------------------------------------------------------- speaker
  function renderSpeaker() {
    var sp = current && current.speaker;
    el("speaker").hidden = !sp;
    el("no-speaker").hidden = !!sp;
    el("speaker-h").parentNode.classList.toggle("speaking", !!sp);
    if (!sp) { el("speaker-h").parentNode.classList.remove("over"); return; }
    el("speaker-site").textContent = sp.site_name + (sp.hub_name && sp.hub_name !== sp.site_name ? " · " + sp.hub_name : "");
    el("speaker-who").textContent = F.who(sp);
    el("speaker-topic").textContent = sp.topic;
    var buttons = el("limits").querySelectorAll("button");
    for (var i = 0; i < buttons.length; i++) {
      var value = Number(buttons[i].getAttribute("data-limit")) || null;
      buttons[i].classList.toggle("chosen", value === (sp.limit_seconds || null));
    }
    tick();
  }

  function tick() {
    var sp = current && current.speaker;
    if (!sp) { return; }
    var over = F.showTimer(el("timer"), sp, now());
    el("speaker-h").parentNode.classList.toggle("over", over);
  }

  function limitButtons() {
    var box = el("limits");
    box.appendChild(F.node("span", "muted", "Giới hạn:"));
    data.limits.concat([null]).forEach(function (seconds) {
      var b = F.button(F.limitLabel(seconds), "", function () {
        act(F.api("PUT", "/api/v1/sessions/" + data.session_id + "/floor/limit", { limit_seconds: seconds }));
      });
      b.setAttribute("data-limit", seconds || "");
      box.appendChild(b);
    });
  }

  // ------------------------------------------------------------------ queue
  function limitSelect() {
    var select = F.node("select");
    select.setAttribute("aria-label", "Giới hạn thời gian");
    [null].concat(data.limits).forEach(function (seconds) {
      var o = F.node("option", null, F.limitLabel(seconds));
      o.value = seconds || "";
      select.appendChild(o);
    });
    return select;
  }

  function newRow(id) {
    var li = F.node("li");
    var parts = { pos: F.node("span", "pos"), site: F.node("span", "site"), meta: F.node("div", "meta"),
      topic: F.node("div", "topic"), who: F.node("div", "meta"), limit: limitSelect(),
      reason: F.node("input"), declineBox: F.node("div", "floor-row-actions") };
    li.setAttribute("data-request", id);
    parts.reason.maxLength = 300;
    parts.reason.placeholder = "Lý do từ chối (bắt buộc)";
    parts.reason.setAttribute("aria-label", "Lý do từ chối");
    var actions = F.node("div", "floor-row-actions");
    actions.appendChild(parts.limit);
    actions.appendChild(F.button("Mời phát biểu", "primary give", function () {
      act(F.give(id, Number(parts.limit.value) || null));
    }));
    actions.appendChild(F.button("Từ chối", "danger decline", function () {
      parts.declineBox.hidden = !parts.declineBox.hidden;
      if (!parts.declineBox.hidden) { parts.reason.focus(); }
    }));
    parts.declineBox.hidden = true;
    parts.declineBox.appendChild(parts.reason);
    parts.declineBox.appendChild(F.button("Xác nhận từ chối", "danger confirm-decline", function () {
      var reason = parts.reason.value.trim();
      if (!reason) { showError("Hãy nhập lý do từ chối."); parts.reason.focus(); return; }
      act(F.api("POST", "/api/v1/floor/requests/" + id + "/decline", { reason: reason }));
    }));
    var head = F.node("div");
    head.appendChild(parts.pos);
    head.appendChild(parts.site);
    [head, parts.meta, parts.topic, parts.who, actions, parts.declineBox].forEach(function (n) { li.appendChild(n); });
    return { li: li, parts: parts };
  }

  function fillRow(row, req, index) {
    var p = row.parts;
    p.pos.textContent = (index + 1) + ".";
    p.site.textContent = req.site_name;
    p.meta.textContent = [req.hub_name, kinds[req.site_kind] || req.site_kind, F.ago(req.asked_at, now())]
      .filter(Boolean).join(" · ");
    p.topic.textContent = req.topic;
    p.who.textContent = "Người phát biểu: " + F.who(req);
    row.asked = req.asked_at;
  }

  // Children of `list` become `items` in order, moving only nodes out of place.
  function arrange(list, items) {
    var child = list.firstChild;
    items.forEach(function (li) {
      if (child === li) { child = child.nextSibling; return; }
      list.insertBefore(li, child);
    });
    while (child) { var next = child.nextSibling; list.removeChild(child); child = next; }
  }

  function renderQueue() {
    // The server sends the head of the queue (300) and how many wait in all.
    var requests = current.requests, waiting = current.waiting, keep = {}, items = [];
    requests.forEach(function (req, i) {
      var row = rows[req.id] || newRow(req.id);
      fillRow(row, req, i);
      keep[req.id] = row;
      items.push(row.li);
    });
    rows = keep;
    arrange(el("queue"), items);
    el("queue-count").textContent = String(waiting);
    el("queue-empty").hidden = waiting > 0;
    el("queue-more").hidden = waiting <= requests.length;
    el("queue-more").textContent = "… và " + (waiting - requests.length) + " yêu cầu khác (lọc theo tỉnh/thành hoặc loại điểm cầu để xem).";
  }

  // -------------------------------------------------------------- questions
  function moderate(id, body) { return act(F.api("POST", "/api/v1/questions/" + id + "/moderate", body)); }

  function showOnScreen(id) {
    return act(F.api("PUT", "/api/v1/sessions/" + data.session_id + "/questions/shown", { question_id: id }));
  }

  function newQuestion(q) {
    var li = F.node("li"), actions = F.node("div", "floor-row-actions");
    var parts = { text: F.node("p", "text"), meta: F.node("div", "meta"), actions: actions,
      merge: F.node("select"), mergeKey: "", status: "" };
    li.setAttribute("data-question", q.id);
    parts.merge.setAttribute("aria-label", "Gộp vào câu hỏi");
    [parts.text, parts.meta, actions].forEach(function (n) { li.appendChild(n); });
    return { li: li, parts: parts };
  }

  function questionActions(row, q) {
    var p = row.parts;
    if (p.status === q.status + q.on_screen) { return; }
    p.status = q.status + q.on_screen;
    p.actions.textContent = "";
    if (q.status === "pending") {
      p.actions.appendChild(F.button("Duyệt", "primary approve", function () { moderate(q.id, { action: "approved" }); }));
      p.actions.appendChild(F.button("Ẩn", "hide", function () { moderate(q.id, { action: "hidden" }); }));
      p.actions.appendChild(p.merge);
      p.actions.appendChild(F.button("Gộp", "merge", function () {
        var into = Number(p.merge.value);
        if (!into) { showError("Hãy chọn câu hỏi để gộp vào."); return; }
        moderate(q.id, { action: "merged", merge_into: into });
      }));
    } else if (q.on_screen) {
      p.actions.appendChild(F.button("Gỡ khỏi màn hình", "unshow", function () { showOnScreen(null); }));
    } else {
      p.actions.appendChild(F.button("Đưa lên màn hình", "primary show", function () { showOnScreen(q.id); }));
    }
  }

  function mergeOptions(row, q, questions) {
    var others = questions.filter(function (o) { return o.id !== q.id; });
    var key = others.map(function (o) { return o.id; }).join(",");
    if (row.parts.mergeKey === key) { return; }
    row.parts.mergeKey = key;
    var select = row.parts.merge, chosen = select.value;
    select.textContent = "";
    select.appendChild(F.node("option", null, "Gộp vào câu hỏi…")).value = "";
    others.forEach(function (o) {
      var text = o.text.length > 60 ? o.text.slice(0, 57) + "…" : o.text;
      select.appendChild(F.node("option", null, "#" + o.id + " " + text)).value = String(o.id);
    });
    select.value = chosen;
  }

  function renderQuestions() {
    var questions = current.questions, keep = {}, pending = [], approved = [];
    questions.forEach(function (q) {
      var row = qrows[q.id] || newQuestion(q);
      row.parts.text.textContent = q.text;
      row.parts.meta.textContent = [q.site_name || "Người tham dự", F.ago(q.asked_at, now()),
        q.weight > 1 ? q.weight + " câu hỏi giống nhau" : null, q.on_screen ? "đang trên màn hình" : null]
        .filter(Boolean).join(" · ");
      row.li.classList.toggle("on-screen", !!q.on_screen);
      questionActions(row, q);
      if (q.status === "pending") { mergeOptions(row, q, questions); pending.push(row.li); }
      else { approved.push(row.li); }
      keep[q.id] = row;
    });
    qrows = keep;
    approved.reverse();  // newest approved first
    arrange(el("pending"), pending);
    arrange(el("approved"), approved);
    el("pending-count").textContent = String(pending.length);
    el("approved-count").textContent = String(approved.length);
    el("pending-empty").hidden = pending.length > 0;
    el("approved-empty").hidden = approved.length > 0;
  }

  // ------------------------------------------------------------------ wiring
  function render(msg) {
    current = msg;
    skewMs = F.skew(msg);
    renderSpeaker();
    renderQueue();
    renderQuestions();
    if (data.closed) { disableAll(); }
  }

  function disableAll() {
    var buttons = document.querySelectorAll(".chair button");
    for (var i = 0; i < buttons.length; i++) { buttons[i].disabled = true; }
  }

  function status(state, text) {
    var conn = el("conn");
    conn.setAttribute("data-state", state);
    conn.textContent = text;
  }

  function fillFilter(select, options) {
    options.forEach(function (o) { select.appendChild(F.node("option", null, o.name)).value = String(o.id); });
  }

  data.kinds.forEach(function (k) { kinds[k.id] = k.name; });
  fillFilter(el("hub-filter"), data.hubs);
  fillFilter(el("kind-filter"), data.kinds);
  limitButtons();
  el("end").addEventListener("click", function () { act(F.end(data.session_id)); });
  var socket = F.connect({ sessionId: data.session_id, onMessage: render, onStatus: status });
  function refilter() { socket.filter(el("hub-filter").value, el("kind-filter").value); }
  el("hub-filter").addEventListener("change", refilter);
  el("kind-filter").addEventListener("change", refilter);
  setInterval(tick, 1000);
  setInterval(function () { if (current) { renderQueue(); renderQuestions(); } }, 30000);
})();
