// Self check-in on the attendee's phone (opened from the QR on the site screen).
// The pass code can be remembered on this phone so the next check-in is one tap.
(function () {
  "use strict";
  var root = document.getElementById("self");
  var form = document.getElementById("self-form");
  if (!root || !form) { return; }
  var KEY = "diemcau.pass.code";
  // What was typed but not yet accepted: it survives an expired QR and the rescan's new page.
  var DRAFT = "diemcau.pass.draft";
  var DRAFT_MS = 15 * 60 * 1000;
  var TOKEN = root.dataset.siteToken;
  var EXPIRED = "Mã QR đã hết hạn, hãy quét lại mã trên màn hình";
  var el = function (id) { return document.getElementById(id); };
  var input = el("code");
  var remember = el("remember");
  var submit = el("submit");
  var resultBox = el("result");

  function stored() {
    try { return localStorage.getItem(KEY) || ""; } catch (e) { return ""; }
  }
  function store(code) {
    try {
      if (code) { localStorage.setItem(KEY, code); } else { localStorage.removeItem(KEY); }
    } catch (e) { /* private mode: nothing remembered */ }
  }

  function saveDraft(code) {
    try {
      if (code) {
        localStorage.setItem(DRAFT, JSON.stringify({ code: code, at: Date.now() }));
      } else {
        localStorage.removeItem(DRAFT);
      }
    } catch (e) { /* private mode: the text stays in the box */ }
  }
  function draft() {
    try {
      var d = JSON.parse(localStorage.getItem(DRAFT) || "null");
      return d && typeof d.code === "string" && Date.now() - d.at < DRAFT_MS ? d.code : "";
    } catch (e) { return ""; }
  }

  function showRemembered() {
    var code = stored();
    el("remembered").hidden = !code;
    el("code-label").hidden = !!code;
    if (code) {
      el("remembered-code").textContent = code.length > 12 ? code.slice(0, 8) + "…" : code;
      input.value = code;
    }
  }
  showRemembered();
  if (!input.value) { input.value = draft(); }
  input.addEventListener("input", function () { saveDraft(input.value.trim()); });
  el("forget").addEventListener("click", function () {
    store("");
    input.value = "";
    showRemembered();
    input.focus();
  });

  function line(cls, text) {
    var d = document.createElement("div");
    d.className = cls;
    d.textContent = text;
    return d;
  }

  function show(kind, status, title, name, meta) {
    resultBox.className = "ci-result " + kind;
    resultBox.dataset.status = status;
    resultBox.textContent = "";
    resultBox.appendChild(line("title", title));
    if (name) { resultBox.appendChild(line("name", name)); }
    if (meta) { resultBox.appendChild(line("meta", meta)); }
    resultBox.scrollIntoView({ block: "nearest" });
  }

  // Once checked in, the attendee may follow the agenda and slides on this phone.
  function offerFollow(url) {
    var offer = el("follow-offer");
    if (url) { el("follow-link").href = url; }
    offer.hidden = !url;
  }

  function render(status, body) {
    offerFollow(status === 201 || status === 200 ? body.follow_url : null);
    if (status === 201 || status === 200) {
      // The server answers only the name and this site (never the unit or earlier scans).
      var here = body.site_name ? "Tại " + body.site_name : "";
      if (body.status === "already_checked_in") {
        show("warn", body.status, "Bạn đã điểm danh rồi", body.full_name, here);
      } else {
        show("ok", body.status, "Đã điểm danh", body.full_name, here);
      }
      store(remember.checked ? input.value.trim() : "");
      saveDraft("");
      showRemembered();
      return;
    }
    var code = (body && body.code) || "error";
    if (code === "site_qr_expired") {
      // The form and the typed code stay: a rescan opens a page that fills it in again.
      saveDraft(input.value.trim());
      show("err", code, EXPIRED, "", "Mã bạn đã nhập vẫn được giữ.");
    } else if (status === 0) {
      show("err", "network", "Mất kết nối", "", "Không gửi được. Kiểm tra mạng rồi bấm Điểm danh lần nữa.");
    } else {
      show("err", code, "Không điểm danh được", "", (body && body.detail) || "Lỗi " + status);
    }
  }

  var sending = false;
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var code = input.value.trim();
    if (!code || sending) { return; }
    sending = true;
    submit.disabled = true;
    fetch("/api/v1/checkins/self", {
      method: "POST",
      credentials: "omit",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({ site_token: TOKEN, code: code })
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) { render(r.status, body); });
    }, function () { render(0, {}); })
      .then(function () { sending = false; submit.disabled = false; });
  });
})();
