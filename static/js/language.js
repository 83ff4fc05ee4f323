// The language switcher works without JavaScript (select, then "Change");
// with it, choosing a language is enough.
(function () {
  "use strict";
  document.querySelectorAll("[data-language-switcher]").forEach(function (form) {
    var button = form.querySelector("[data-language-submit]");
    if (button) button.classList.add("d-none");
    form.querySelector("select").addEventListener("change", function () {
      form.submit();
    });
  });
})();
