// Site screen: the training form on stage (screen.js calls render with the stage message's
// `form` and count with each "form_count" message). While the form is open or closed: a
// full-width card with its kind, title, the QR and short link of this site's answer page
// and "Đã trả lời tại điểm cầu: N"; with results: one chart per question, fetched once
// per results_version and shown as <img src="data:image/svg+xml,..."> (our own SVG; no
// markup of ours is parsed into the page).
(function () {
  "use strict";
  var el = function (id) { return document.getElementById(id); };
  var card = el("form");
  var shown = null;  // the form on screen: {id, results_version, results}
  var link = null;  // this site's answer link: {url, short, svg}, asked once
  var chartsFor = null;  // "form:version" of the charts on screen (or being fetched)

  function setCount(n) {
    el("form-count").textContent = String(n);
    card.dataset.count = String(n);  // read by the browser tests
  }

  function showLink(token) {
    if (link) {
      el("form-qr").src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(link.svg);
      el("form-link").textContent = link.short;
      card.dataset.url = link.url;
      return;
    }
    fetch("/api/v1/screen/form-link", { headers: { "Authorization": "Screen " + token } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (answer) { link = answer; if (shown) { showLink(token); } })
      .catch(function () { setTimeout(function () { if (shown) { showLink(token); } }, 5000); });
  }

  function showCharts(form, token) {
    var key = form.id + ":" + form.results_version;
    if (chartsFor === key) { return; }
    chartsFor = key;
    var box = el("form-results");
    fetch("/api/v1/forms/" + form.id + "/results/charts",
          { headers: { "Authorization": "Screen " + token } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (body) {
        if (chartsFor !== key) { return; }
        box.textContent = "";
        body.charts.forEach(function (chart) {
          var img = document.createElement("img");
          img.className = "form-chart";
          img.alt = "Biểu đồ kết quả câu hỏi";
          img.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(chart.svg);
          box.appendChild(img);
        });
        box.dataset.version = String(body.version);  // read by the browser tests
      })
      .catch(function () {
        chartsFor = null;  // asked again with the next stage message or below
        setTimeout(function () { if (shown && shown.results) { showCharts(shown, token); } }, 5000);
      });
  }

  function render(form, token) {
    var stage = el("stage");
    if (!form) {
      shown = null;
      card.hidden = true;
      if (document.body.dataset.mode !== "waiting") { stage.hidden = false; }
      return;
    }
    if (!shown || shown.id !== form.id) { setCount(0); }
    shown = form;
    card.hidden = false;
    stage.hidden = true;
    card.dataset.status = form.status;
    el("form-kind").textContent = form.kind_label;
    el("form-title").textContent = form.title;
    el("form-open").hidden = !!form.results;
    el("form-results").hidden = !form.results;
    el("form-closed").hidden = form.status !== "closed";
    el("form-hint").hidden = form.status !== "open";
    if (form.results) { showCharts(form, token); } else { showLink(token); }
  }

  function count(msg) {
    if (shown && msg.form_id === shown.id && msg.site_id !== null) { setCount(msg.count); }
  }

  window.DiemcauScreenForm = { render: render, count: count };
})();
