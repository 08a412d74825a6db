// The coordinator's floor page: the forms post as they are (they work without script);
// this only keeps the request's status and the questions fresh with a light poll.
(function () {
  "use strict";
  var root = document.getElementById("floor-site");
  if (!root) { return; }
  var POLL_MS = 4000;
  var siteId = root.dataset.site;
  var sessionId = root.dataset.session;
  var el = function (id) { return document.getElementById(id); };

  function setText(id, text) { var n = el(id); if (n) { n.textContent = text; } }

  function renderQuestions(questions) {
    var list = el("questions");
    if (!list) { return; }
    list.textContent = "";
    if (!questions.length) {
      var none = document.createElement("li");
      none.className = "muted";
      none.textContent = "Chưa gửi câu hỏi nào.";
      list.appendChild(none);
    }
    questions.forEach(function (q) {
      var li = document.createElement("li");
      var text = document.createElement("span");
      text.className = "q-text";
      text.textContent = q.text;
      var status = document.createElement("span");
      status.className = "q-status " + q.status;
      status.textContent = q.status_label;
      li.appendChild(text);
      li.appendChild(document.createTextNode(" "));
      li.appendChild(status);
      list.appendChild(li);
    });
  }

  function render(state) {
    if (String(state.session_id || "") !== sessionId) {
      // Another session on stage (or none): the forms name the old one, so start afresh.
      location.replace(location.pathname);
      return;
    }
    if (!state.session_id) { return; }
    var req = state.request;
    var open = !!req && req.status === "open";
    var status = el("status");
    status.textContent = state.status_text;
    status.className = "fs-state " + (req ? req.status : "none");
    el("withdraw-form").hidden = !open;
    el("withdraw-id").value = req ? String(req.id) : "";
    setText("ask-title", open ? "Sửa đăng ký phát biểu" : "Đăng ký phát biểu");
    setText("ask", open ? "Cập nhật đăng ký" : "Đăng ký phát biểu");
    renderQuestions(state.questions || []);
  }

  function poll() {
    if (document.hidden) { setTimeout(poll, POLL_MS); return; }
    fetch("/api/v1/sites/" + encodeURIComponent(siteId) + "/floor",
          { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (state) { if (state) { render(state); } })
      .catch(function () {})
      .then(function () { setTimeout(poll, POLL_MS); });
  }
  setTimeout(poll, POLL_MS);
})();
