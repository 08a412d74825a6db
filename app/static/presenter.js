// Presenter console: sends stage commands over HTTP (PUT /api/v1/sessions/{id}/state) and
// shows the answer. Commands go one at a time, each computed from the newest known state,
// so a fast USB clicker never skips or reorders slides.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("console-data").textContent);
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var el = function (id) { return document.getElementById(id); };
  var state = data.stage;
  var items = data.items;
  var queue = Promise.resolve();
  var POLL_MS = 5000;

  function indexOf(itemId) {
    for (var i = 0; i < items.length; i++) { if (items[i].id === itemId) { return i; } }
    return -1;
  }

  function onStage() { return state.session && state.session.id === data.session_id; }

  function pageUrl(item, page) {
    return item && item.thumbnail ? item.thumbnail.replace(/1\.png$/, page + ".png") : null;
  }

  function preload(url) { if (url) { var img = new Image(); img.src = url; } }

  function showError(text) {
    var box = el("error");
    box.textContent = text || "";
    box.hidden = !text;
  }

  function render(next) {
    if (state && next.version < state.version) { return; }  // an older answer arrived late
    state = next;
    el("version").textContent = String(state.version);
    var mine = onStage();
    el("other-session").hidden = mine || !state.session;
    if (state.session && !mine) { el("other-title").textContent = state.session.title; }
    var item = mine ? state.item : null;
    var slide = mine ? state.slide : null;
    el("item-title").textContent = item ? item.title : "—";
    el("item-meta").textContent = item ? item.kind_label + (item.speaker ? " · " + item.speaker : "") : "";
    var img = el("slide");
    if (slide) {
      if (img.getAttribute("src") !== slide.url) { img.src = slide.url; }
      img.alt = "Trang " + slide.number;
      img.hidden = false;
      el("no-slide").hidden = true;
      el("page").textContent = "Trang " + slide.number + " / " + slide.count;
    } else {
      img.hidden = true;
      img.removeAttribute("src");
      el("no-slide").hidden = false;
      el("page").textContent = "";
    }
    el("notice-now").textContent = state.notice || "(không có)";
    var rows = document.querySelectorAll("#agenda li[data-item]");
    for (var i = 0; i < rows.length; i++) {
      var current = item && String(item.id) === rows[i].getAttribute("data-item");
      rows[i].classList.toggle("current", !!current);
      if (current) { rows[i].setAttribute("aria-current", "step"); } else { rows[i].removeAttribute("aria-current"); }
    }
    // Warm the browser cache with the next page so "Sau" feels instant.
    if (item && slide && slide.number < slide.count) {
      preload(pageUrl(items[indexOf(item.id)], slide.number + 1));
    }
  }

  function send(makeBody) {
    queue = queue.then(function () {
      var body = makeBody();
      if (!body) { return null; }
      return fetch("/api/v1/sessions/" + data.session_id + "/state", {
        method: "PUT",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(body)
      }).then(function (r) {
        return r.json().then(function (json) {
          if (r.ok) { showError(""); render(json); }
          else { showError(json.detail || "Không thực hiện được (" + r.status + ")."); }
        });
      }).catch(function () {
        showError("Mất kết nối tới máy chủ, vui lòng thử lại.");
      });
    });
    return queue;
  }

  function itemBody(index, lastPage) {
    var target = items[index];
    if (!target) { return null; }
    var body = { agenda_item_id: target.id };
    if (lastPage && target.pages) { body.slide = target.pages; }
    return body;
  }

  function nextBody() {
    if (!onStage() || !state.item) { return itemBody(0, false); }
    var slide = state.slide;
    if (slide && slide.number < slide.count) { return { slide: slide.number + 1 }; }
    return itemBody(indexOf(state.item.id) + 1, false);
  }

  function prevBody() {
    if (!onStage() || !state.item) { return null; }
    var slide = state.slide;
    if (slide && slide.number > 1) { return { slide: slide.number - 1 }; }
    var index = indexOf(state.item.id);
    return index > 0 ? itemBody(index - 1, true) : null;
  }

  el("next").addEventListener("click", function () { send(nextBody); });
  el("prev").addEventListener("click", function () { send(prevBody); });
  el("start").addEventListener("click", function () { send(function () { return itemBody(0, false) || {}; }); });
  var jumps = document.querySelectorAll("button.jump");
  for (var j = 0; j < jumps.length; j++) {
    jumps[j].addEventListener("click", function (event) {
      var id = Number(event.currentTarget.getAttribute("data-item"));
      send(function () { return { agenda_item_id: id }; });
    });
  }
  el("notice-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var text = el("notice").value.trim();
    send(function () { return { notice: text || null }; });
  });
  el("notice-clear").addEventListener("click", function () {
    el("notice").value = "";
    send(function () { return { notice: null }; });
  });

  document.addEventListener("keydown", function (event) {
    var tag = (event.target && event.target.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || event.altKey || event.ctrlKey || event.metaKey) { return; }
    if (event.key === "ArrowRight" || event.key === "PageDown") { event.preventDefault(); send(nextBody); }
    else if (event.key === "ArrowLeft" || event.key === "PageUp") { event.preventDefault(); send(prevBody); }
  });

  function poll() {
    fetch("/api/v1/conferences/" + data.conference_id + "/screens/online", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (json) {
        el("online").textContent = json ? String(json.online) : "—";
        el("sites-online").textContent = json ? String(json.sites_online) : "—";
      })
      .catch(function () { el("online").textContent = "—"; el("sites-online").textContent = "—"; });
    // Another console (or a second tab) may have moved the stage meanwhile.
    fetch("/api/v1/conferences/" + data.conference_id + "/stage", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (json) { if (json && json.version > state.version) { render(json); } })
      .catch(function () {});
  }

  if (data.closed) {
    var buttons = document.querySelectorAll("button");
    for (var b = 0; b < buttons.length; b++) { if (!buttons[b].closest("form.inline")) { buttons[b].disabled = true; } }
  }
  render(state);
  poll();
  setInterval(poll, POLL_MS);
})();
