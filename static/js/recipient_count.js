// The mailing form's recipient count: asks the server how many the chosen
// lists, segment and clients reach whenever the choice changes, and shows
// its answer (already in the page's language, figures localised).
(function () {
  "use strict";
  var form = document.getElementById("mailing-form");
  var box = document.getElementById("recipient-count");
  if (!form || !box) return;
  var names = ["lists", "segment", "clients", "all_clients"];
  var timer = null;
  var asked = 0;

  function query() {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, name) {
      if (names.indexOf(name) !== -1 && value !== "") params.append(name, value);
    });
    return params.toString();
  }

  function refresh() {
    var ticket = ++asked;
    fetch(form.dataset.countUrl + "?" + query(), {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        if (ticket !== asked) return;
        box.textContent = data.text || data.error || "";
        box.classList.toggle("d-none", !box.textContent);
      })
      .catch(function () { box.classList.add("d-none"); });
  }

  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 300);
  }

  form.addEventListener("change", later);
  // The client picker changes its select without a change event on the form.
  var picked = form.querySelector("select[name='clients']");
  if (picked && window.MutationObserver) {
    new MutationObserver(later).observe(picked, { childList: true, subtree: true });
  }
  refresh();
})();
