// The presenter console's floor panel: the speaker with a timer and "Kết thúc", how many
// sites wait and the first few with "Mời phát biểu"; the full view is the chair page.
// Built from floor.js, live over /ws/floor like the chair page.
(function () {
  "use strict";
  var F = window.DiemcauFloor;
  var data = JSON.parse(document.getElementById("console-data").textContent);
  var el = function (id) { return document.getElementById(id); };
  var FIRST = 3;
  var current = null, skewMs = 0;

  function showError(text) {
    var box = el("error");
    box.textContent = text || "";
    box.hidden = !text;
  }

  function act(promise) { promise.then(function () { showError(""); }, function (err) { showError(err.message); }); }

  function tick() {
    if (current && current.speaker) { F.showTimer(el("floor-timer"), current.speaker, Date.now() + skewMs); }
  }

  function row(req, index) {
    var li = F.node("li");
    li.setAttribute("data-request", req.id);
    li.appendChild(F.node("span", "pos", (index + 1) + "."));
    li.appendChild(F.node("span", "site", req.site_name));
    li.appendChild(F.node("div", "meta", [req.hub_name, req.topic].filter(Boolean).join(" · ")));
    var give = F.button("Mời phát biểu", "primary give", function () { act(F.give(req.id, null)); });
    give.disabled = data.closed;
    li.appendChild(give);
    return li;
  }

  function render(msg) {
    current = msg;
    skewMs = F.skew(msg);
    var sp = msg.speaker;
    el("floor-speaker").hidden = !sp;
    el("floor-none").hidden = !!sp;
    if (sp) {
      el("floor-site").textContent = sp.site_name;
      el("floor-who").textContent = F.who(sp) + (sp.topic ? " — " + sp.topic : "");
    }
    el("floor-count").textContent = String(msg.waiting);
    var list = el("floor-queue");
    list.textContent = "";
    msg.requests.slice(0, FIRST).forEach(function (req, i) { list.appendChild(row(req, i)); });
    tick();
  }

  function status(state, text) {
    el("floor-conn").setAttribute("data-state", state);
    el("floor-conn").textContent = text;
  }

  el("floor-end").addEventListener("click", function () { act(F.end(data.session_id)); });
  el("floor-end").disabled = data.closed;
  F.connect({ sessionId: data.session_id, onMessage: render, onStatus: status });
  setInterval(tick, 1000);
})();
