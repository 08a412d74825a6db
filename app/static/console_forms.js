// The presenter console's forms panel: the session's pre-tests, post-tests and surveys with
// Mở / Đóng / Mở lại / Hiện kết quả / Ẩn (each answers the new stage), the conference's
// total of answers while one is on the screens (asked about once a second: at most one
// update a second), and the charts every screen shows once the results are shown.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("console-data").textContent);
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var el = function (id) { return document.getElementById(id); };
  var list = el("forms-list");
  var forms = data.forms || [];
  var STATUS = { draft: "chưa mở", open: "đang mở", closed: "đã đóng" };
  var onStage = (data.stage && data.stage.form) || null;  // the stage's `form`
  var counting = null;  // the timer of the count
  var chartsFor = null;

  function showError(text) {
    var box = el("error");
    box.textContent = text || "";
    box.hidden = !text;
  }

  function button(label, cls, action, form) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = cls;
    b.textContent = label;
    b.setAttribute("data-action", action);
    b.addEventListener("click", function () { command(form, action); });
    return b;
  }

  function render() {
    el("forms-none").hidden = forms.length > 0;
    list.textContent = "";
    forms.forEach(function (form) {
      var li = document.createElement("li");
      li.setAttribute("data-form", form.id);
      li.setAttribute("data-status", form.status);
      var shown = onStage && onStage.id === form.id;
      var title = document.createElement("span");
      title.className = "form-name";
      title.textContent = form.title;
      var meta = document.createElement("small");
      meta.className = "muted";
      meta.textContent = " " + form.kind_label + " · " + STATUS[form.status] +
        (shown ? (onStage.results ? " · đang chiếu kết quả" : " · đang trên màn hình") : "");
      li.appendChild(title);
      li.appendChild(meta);
      var actions = document.createElement("div");
      actions.className = "form-actions";
      if (form.status === "draft") { actions.appendChild(button("Mở", "primary", "open", form)); }
      if (form.status === "open") { actions.appendChild(button("Đóng", "danger", "close", form)); }
      if (form.status === "closed") {
        actions.appendChild(button("Mở lại", "", "open", form));
        actions.appendChild(button("Hiện kết quả", "primary", "results/show", form));
      }
      if (shown) { actions.appendChild(button("Ẩn", "", "hide", form)); }
      li.appendChild(actions);
      list.appendChild(li);
    });
    watch();
  }

  function apply(stage) {
    onStage = stage.form || null;
    if (onStage) {
      forms.forEach(function (f) {
        if (f.id === onStage.id) { f.status = onStage.status; }
        else if (onStage.status === "open" && f.status === "open") { f.status = "closed"; }
      });
    }
    render();
  }

  function command(form, action) {
    fetch("/api/v1/forms/" + form.id + "/" + action, {
      method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf }
    }).then(function (r) {
      return r.json().then(function (json) {
        if (r.ok) { showError(""); apply(json); }
        else { showError(json.detail || "Không thực hiện được (" + r.status + ")."); }
      });
    }).catch(function () { showError("Mất kết nối tới máy chủ, vui lòng thử lại."); });
  }

  function askCount() {
    var form = onStage;
    if (!form || form.results) { return; }
    fetch("/api/v1/forms/" + form.id + "/count", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (c) {
        if (onStage && onStage.id === c.form_id) {
          el("forms-total").textContent = String(c.count);
          el("forms-total-line").dataset.count = String(c.count);  // read by the browser tests
        }
      })
      .catch(function () { /* asked again below */ });
  }

  function showCharts(form) {
    var key = form.id + ":" + form.results_version;
    if (chartsFor === key) { return; }
    chartsFor = key;
    fetch("/api/v1/forms/" + form.id + "/results/charts", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (body) {
        var box = el("forms-charts");
        box.textContent = "";
        body.charts.forEach(function (chart) {
          var img = document.createElement("img");
          img.alt = "Biểu đồ kết quả câu hỏi";
          img.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(chart.svg);
          box.appendChild(img);
        });
        box.dataset.version = String(body.version);
      })
      .catch(function () { chartsFor = null; });
  }

  function watch() {
    clearInterval(counting);
    counting = null;
    var counted = !!(onStage && !onStage.results);
    el("forms-total-line").hidden = !counted;
    el("forms-charts").hidden = !(onStage && onStage.results);
    if (counted) { askCount(); counting = setInterval(askCount, 1000); }
    if (onStage && onStage.results) { showCharts(onStage); }
  }

  render();
})();
