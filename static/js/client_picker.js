// The mailing form's client picker: search the customer's clients as they
// type (a JSON endpoint, at most a page of matches, and whether more match) and keep the chosen ones
// as selected options of the form's own <select multiple>, which is what the
// form submits. Without JavaScript the select shows the chosen clients.
(function () {
  "use strict";

  function setUp(box) {
    var select = box.querySelector("select");
    var input = box.querySelector("[data-picker-input]");
    var results = box.querySelector("[data-picker-results]");
    var chosen = box.querySelector("[data-picker-chosen]");
    var timer = null;
    var asked = 0;

    select.classList.add("d-none");
    input.classList.remove("d-none");

    function isChosen(id) {
      return Array.prototype.some.call(select.options, function (option) {
        return option.value === String(id);
      });
    }

    function renderChosen() {
      chosen.replaceChildren();
      Array.prototype.forEach.call(select.options, function (option) {
        var chip = document.createElement("span");
        chip.className = "badge text-bg-light border d-inline-flex align-items-center gap-1";
        chip.dataset.clientId = option.value;
        chip.append(option.textContent);
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "btn-close btn-close-sm";
        remove.style.fontSize = "0.6rem";
        remove.setAttribute("aria-label", box.dataset.removeLabel + " " + option.textContent);
        remove.addEventListener("click", function () {
          option.remove();
          renderChosen();
          markResults();
        });
        chip.append(remove);
        chosen.append(chip);
      });
    }

    function markResults() {
      results.querySelectorAll("[data-client-id]").forEach(function (item) {
        var on = isChosen(item.dataset.clientId);
        item.classList.toggle("active", on);
        item.setAttribute("aria-selected", on ? "true" : "false");
      });
    }

    function choose(client) {
      if (!isChosen(client.id)) {
        var option = new Option(client.label, client.id, true, true);
        select.add(option);
      }
      renderChosen();
      markResults();
    }

    function show(clients, more) {
      results.replaceChildren();
      if (!clients.length) {
        var empty = document.createElement("div");
        empty.className = "list-group-item text-body-secondary";
        empty.textContent = box.dataset.emptyLabel;
        results.append(empty);
        return;
      }
      clients.forEach(function (client) {
        var item = document.createElement("button");
        item.type = "button";
        item.className = "list-group-item list-group-item-action";
        item.setAttribute("role", "option");
        item.dataset.clientId = client.id;
        item.textContent = client.label;
        item.addEventListener("click", function () { choose(client); });
        results.append(item);
      });
      if (more) {
        // Only the first matches come back: more letters narrow them.
        var hint = document.createElement("div");
        hint.className = "list-group-item small text-body-secondary";
        hint.dataset.pickerMore = "";
        hint.textContent = box.dataset.moreLabel;
        results.append(hint);
      }
      markResults();
    }

    function search() {
      var text = input.value.trim();
      var number = ++asked;
      if (!text) {
        results.replaceChildren();
        return;
      }
      var url = box.dataset.searchUrl + "?q=" + encodeURIComponent(text);
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          // Only the answer to the latest question is shown.
          if (data && number === asked) show(data.results, data.more);
        });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(search, 200);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") return;
      // Enter picks the first match instead of submitting the form.
      event.preventDefault();
      var first = results.querySelector("[data-client-id]");
      if (first) first.click();
    });
    renderChosen();
  }

  document.querySelectorAll("[data-client-picker]").forEach(setUp);
})();
