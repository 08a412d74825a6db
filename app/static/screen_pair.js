// Exchange a pairing code for a screen token, keep it in this browser, open the display.
(function () {
  "use strict";
  var form = document.getElementById("pair-form");
  var error = document.getElementById("pair-error");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    error.hidden = true;
    var code = document.getElementById("code").value.trim();
    fetch("/api/v1/screens/pair", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ code: code })
    }).then(function (r) {
      return r.json().then(function (body) { return { ok: r.ok, body: body }; });
    }).then(function (res) {
      if (!res.ok) {
        error.textContent = res.body.detail || "Không ghép nối được.";
        error.hidden = false;
        return;
      }
      localStorage.setItem("diemcau.screen.token", res.body.token);
      window.location.href = "/screen";
    }).catch(function () {
      error.textContent = "Không kết nối được máy chủ, vui lòng thử lại.";
      error.hidden = false;
    });
  });
})();
