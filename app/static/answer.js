// Answering a training form on a phone (opened from the QR on the site screen, /a/<code>).
// The answer goes to the JSON API with this phone's `device` and a per-form `nonce`,
// both kept in localStorage: a lost answer (no network) is sent again with the same
// nonce, so it is stored once. The personal code is prefilled from what the self
// check-in page remembered on this phone. Without this script the form posts itself.
(function () {
  "use strict";
  var root = document.getElementById("answer");
  var form = document.getElementById("answer-form");
  var done = document.getElementById("done");
  if (!root) { return; }
  var FORM = root.dataset.form;
  var SITE = root.dataset.site;
  var PASS_KEY = "diemcau.pass.code";  // app/static/selfcheckin.js
  var DEVICE_KEY = "diemcau.device";
  var NONCE_KEY = "diemcau.answer.nonce." + FORM;
  var DONE_KEY = "diemcau.answer.done." + FORM;
  var el = function (id) { return document.getElementById(id); };
  // The follow page links here by this site code once the phone has opened the site's QR.
  if (SITE) { put("diemcau.answer.site", SITE); }

  function get(key) { try { return localStorage.getItem(key) || ""; } catch (e) { return ""; } }
  function put(key, value) {
    try { if (value) { localStorage.setItem(key, value); } else { localStorage.removeItem(key); } }
    catch (e) { /* private mode: kept for this page only */ }
  }
  function random() {
    var bytes = new Uint8Array(18);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }
  function keep(key) {
    var value = get(key);
    if (!value) { value = random(); put(key, value); }
    return value;
  }

  function showDone(answer) {
    if (form) { form.hidden = true; }
    done.hidden = false;
    if (answer && answer.score !== null && answer.score !== undefined) {
      el("score").textContent = String(answer.score).replace(".", ",");
      el("right-count").textContent = answer.correct;
      el("scored-count").textContent = answer.scored;
      el("score-line").hidden = false;
    }
  }

  // Answered before on this phone: say so (with the score it got), no second form.
  var before = get(DONE_KEY);
  if (before && form) {
    form.hidden = true;
    el("answered-before").hidden = false;
    try {
      var kept = JSON.parse(before);
      if (kept && kept.score !== null && kept.score !== undefined) { showDone(kept); }
    } catch (e) { /* nothing kept but the fact */ }
    return;
  }
  if (!form) { return; }

  var code = el("code");
  var remembered = get(PASS_KEY);
  // Only a personal code (8 characters, maybe with a dash), not a whole pass QR.
  if (!code.value && remembered && remembered.length <= 9) { code.value = remembered; }

  function answers() {
    var out = [];
    var sets = form.querySelectorAll("fieldset[data-question]");
    Array.prototype.forEach.call(sets, function (set) {
      var id = Number(set.dataset.question);
      var kind = set.dataset.kind;
      if (kind === "single" || kind === "multi") {
        var picked = Array.prototype.map.call(set.querySelectorAll("input:checked"),
          function (i) { return Number(i.value); });
        if (picked.length) { out.push({ question_id: id, options: picked }); }
      } else if (kind === "rating") {
        var r = set.querySelector("input:checked");
        if (r) { out.push({ question_id: id, rating: Number(r.value) }); }
      } else {
        var t = set.querySelector("textarea").value.trim();
        if (t) { out.push({ question_id: id, text: t }); }
      }
    });
    return out;
  }

  function fail(text) {
    var box = el("send-error");
    box.textContent = text;
    box.hidden = false;
    el("send").disabled = false;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    el("send-error").hidden = true;
    el("send").disabled = true;
    var body = { nonce: keep(NONCE_KEY), device: keep(DEVICE_KEY), answers: answers() };
    if (SITE) { body.site = SITE; }
    if (code.value.trim()) { body.code = code.value.trim(); }
    fetch("/api/v1/forms/" + FORM + "/answers", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body), credentials: "omit"
    }).then(function (r) {
      return r.json().then(function (data) { return { status: r.status, data: data }; });
    }).then(function (res) {
      if (res.status === 200 || res.status === 201) {
        put(DONE_KEY, JSON.stringify(res.data));
        put(NONCE_KEY, "");
        showDone(res.data);
      } else if (res.data && res.data.code === "form_already_answered") {
        put(DONE_KEY, "{}");
        form.hidden = true;
        el("answered-before").hidden = false;
      } else {
        fail((res.data && res.data.detail) || "Không gửi được, vui lòng thử lại.");
      }
    }).catch(function () {
      // No answer from the server: the same nonce goes again, so nothing is stored twice.
      fail("Mất kết nối: câu trả lời chưa được gửi. Bấm “Gửi câu trả lời” để gửi lại.");
    });
  });
})();
