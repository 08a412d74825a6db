// Site-tree import: upload with a progress bar, then show the server's result in place.
// Without JavaScript the form posts normally and the same page comes back.
(function () {
  "use strict";
  var form = document.getElementById("import-form");
  if (!form || !window.XMLHttpRequest || !window.FormData) return;
  var box = form.querySelector(".import-progress");
  var bar = box.querySelector("progress");
  var status = box.querySelector("[role=status]");
  var button = form.querySelector("button[type=submit]");
  var maxBytes = parseInt(form.getAttribute("data-max-bytes"), 10) || 0;

  function mb(bytes) {
    return (bytes / 1048576).toLocaleString("vi-VN", { maximumFractionDigits: 1 }) + " MB";
  }

  function say(text, value) {
    box.hidden = false;
    status.textContent = text;
    if (value === null) bar.removeAttribute("value");
    else bar.value = value;
  }

  function done() {
    button.disabled = false;
  }

  function showResult(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var fresh = doc.getElementById("import-result");
    var here = document.getElementById("import-result");
    if (!here) return;
    if (!fresh) {
      // A generic error page (e.g. the form expired): show its message here.
      var detail = doc.querySelector(".error-detail");
      var alert = document.createElement("div");
      alert.className = "flash err";
      alert.setAttribute("role", "alert");
      alert.textContent = detail ? detail.textContent : "Máy chủ trả lời không như mong đợi; hãy tải lại trang.";
      here.innerHTML = "";
      here.appendChild(alert);
      box.hidden = true;
      return;
    }
    here.innerHTML = fresh.innerHTML;
    box.hidden = true;
    here.scrollIntoView({ behavior: "smooth", block: "start" });
    var focus = here.querySelector("[role=alert], [role=status]");
    if (focus) { focus.setAttribute("tabindex", "-1"); focus.focus(); }
  }

  form.addEventListener("submit", function (event) {
    var input = form.querySelector("input[type=file]");
    var file = input.files && input.files[0];
    if (!file) return;  // the browser's own "required" message
    event.preventDefault();
    if (maxBytes && file.size > maxBytes) {
      say("Tệp " + mb(file.size) + " lớn hơn giới hạn " + mb(maxBytes) + "; hãy chia tệp thành nhiều phần.", 0);
      return;
    }
    button.disabled = true;
    say("Đang tải lên…", 0);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    // The token in a header too: the server checks it before reading the upload.
    var token = form.querySelector("input[name=csrf_token]");
    if (token) xhr.setRequestHeader("X-CSRF-Token", token.value);
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) { say("Đang tải lên…", null); return; }
      var pct = Math.round((e.loaded / e.total) * 100);
      say("Đang tải lên " + pct + "% (" + mb(e.loaded) + " / " + mb(e.total) + ")", pct);
    });
    xhr.upload.addEventListener("load", function () {
      say("Đã tải lên; đang kiểm tra và nhập dữ liệu…", null);
    });
    xhr.addEventListener("load", function () {
      done();
      if (xhr.responseURL && xhr.responseURL.indexOf("/login") !== -1) {
        window.location.href = xhr.responseURL;  // the session ended: log in again
        return;
      }
      showResult(xhr.responseText);
    });
    xhr.addEventListener("error", function () {
      done();
      say("Mất kết nối khi tải lên; vui lòng kiểm tra mạng và thử lại.", 0);
    });
    xhr.addEventListener("timeout", function () {
      done();
      say("Quá thời gian chờ máy chủ; vui lòng thử lại.", 0);
    });
    xhr.send(new FormData(form));
  });
})();
