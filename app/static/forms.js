// The bank editor without reloads: options hide for rating and text questions, and
// buttons add an option row or a question block. The form posts the same fields
// without this script (blank blocks and rows are already there).
(function () {
  "use strict";
  var editor = document.getElementById("bank-editor");
  if (!editor) { return; }
  var LETTERS = "ABCDEFGHIJ";

  function kindOf(block) {
    var select = block.querySelector(".q-kind");
    return select ? select.value : "single";
  }

  function showOptions(block) {
    var box = block.querySelector(".options");
    if (box) { box.hidden = kindOf(block) === "rating" || kindOf(block) === "text"; }
  }

  function addOption(block) {
    var box = block.querySelector(".options");
    var rows = box.querySelectorAll(".option");
    if (rows.length >= 10) { return; }
    var row = rows[rows.length - 1].cloneNode(true);
    var j = rows.length + 1;
    var n = block.getAttribute("data-q");
    row.querySelector(".letter").textContent = LETTERS.charAt(j - 1);
    var text = row.querySelector("input:not([type=checkbox])");
    text.name = "q-" + n + "-opt-" + j;
    text.value = "";
    text.setAttribute("aria-label", "Câu " + n + ", phương án " + LETTERS.charAt(j - 1));
    var tick = row.querySelector("input[type=checkbox]");
    tick.value = String(j);
    tick.checked = false;
    box.insertBefore(row, box.querySelector(".add-option"));
    text.focus();
  }

  function wire(block) {
    var select = block.querySelector(".q-kind");
    if (select) { select.addEventListener("change", function () { showOptions(block); }); }
    var box = block.querySelector(".options");
    if (box && !box.querySelector(".add-option")) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "add-option";
      button.textContent = "Thêm phương án";
      button.addEventListener("click", function () { addOption(block); });
      box.appendChild(button);
    }
    showOptions(block);
  }

  function renumber(block, n) {
    block.setAttribute("data-q", String(n));
    block.querySelector("legend").textContent = "Câu " + n;
    block.querySelectorAll("[name]").forEach(function (field) {
      field.name = field.name.replace(/^q-\d+-/, "q-" + n + "-");
      if (field.type === "checkbox") { field.checked = false; }
      else if (field.tagName !== "SELECT") { field.value = ""; }
    });
    var remove = block.querySelector(".q-delete");
    if (remove) { remove.remove(); }
  }

  var list = document.getElementById("questions");
  list.querySelectorAll(".question").forEach(wire);
  if (!list.querySelector("fieldset[disabled]")) {
    var add = document.createElement("button");
    add.type = "button";
    add.id = "add-question";
    add.textContent = "Thêm câu hỏi";
    add.addEventListener("click", function () {
      var blocks = list.querySelectorAll(".question");
      if (blocks.length >= 100) { return; }
      var block = blocks[blocks.length - 1].cloneNode(true);
      var extra = block.querySelectorAll(".option");
      for (var i = 4; i < extra.length; i++) { extra[i].remove(); }
      var oldButton = block.querySelector(".add-option");
      if (oldButton) { oldButton.remove(); }
      renumber(block, blocks.length + 1);
      list.appendChild(block);
      wire(block);
      block.querySelector("textarea").focus();
    });
    list.after(add);
  }
})();
