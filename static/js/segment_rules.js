// The segment form's rule rows: "Add a rule" appends a blank row (the
// formset's empty form), "Remove" blanks a row and hides it. Without
// JavaScript the page offers a few blank rows and "(no rule)" instead.
(function () {
  "use strict";
  var form = document.getElementById("segment-form");
  if (!form) return;
  var body = form.querySelector("#segment-rules tbody");
  var template = document.getElementById("segment-rule-template");
  var total = form.querySelector("input[name='rules-TOTAL_FORMS']");
  var maximum = form.querySelector("input[name='rules-MAX_NUM_FORMS']");
  var add = form.querySelector("[data-add-rule]");

  function wire(row) {
    var remove = row.querySelector("[data-remove-rule]");
    remove.classList.remove("d-none");
    remove.addEventListener("click", function () {
      var kind = row.querySelector("select[name$='-kind']");
      kind.value = "";
      row.classList.add("d-none");
    });
  }

  Array.prototype.forEach.call(body.querySelectorAll("[data-rule-row]"), wire);
  add.classList.remove("d-none");
  add.addEventListener("click", function () {
    var index = parseInt(total.value, 10);
    if (maximum && index >= parseInt(maximum.value, 10)) return;
    var html = template.innerHTML.replace(/__prefix__/g, String(index));
    var holder = document.createElement("tbody");
    holder.innerHTML = html;
    var row = holder.querySelector("[data-rule-row]");
    body.appendChild(row);
    total.value = String(index + 1);
    wire(row);
  });
})();
