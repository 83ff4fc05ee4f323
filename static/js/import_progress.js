// Refreshes an import's progress bar while it runs, then reloads the page
// once so that its outcome (counts, the report of rejected rows) shows.
(function () {
  "use strict";
  // Django's JavaScript catalog (loaded by base.html) translates; without it,
  // English.
  var gettext = window.gettext || function (text) { return text; };
  var interpolate = window.interpolate || function (format, values) {
    return format.replace(/%\(\w+\)s/g, function (match) {
      return values[match.slice(2, -2)];
    });
  };
  var box = document.getElementById("import-progress");
  if (!box || box.dataset.finished === "1") return;
  var bar = box.querySelector("progress");
  var status = box.querySelector("[data-status]");
  var counts = box.querySelector("[data-counts]");
  var delay = 1500;

  function poll() {
    fetch(box.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) return;
        bar.value = data.percent;
        bar.textContent = data.percent + "%";
        status.textContent = data.status_label;
        counts.textContent = interpolate(
          gettext("%(processed)s of %(total)s rows"),
          { processed: data.processed.toLocaleString(), total: data.total.toLocaleString() },
          true
        );
        if (data.finished) {
          status.textContent = gettext("Finished; showing the outcome…");
          window.setTimeout(function () { window.location.reload(); }, 800);
        } else {
          window.setTimeout(poll, delay);
        }
      })
      .catch(function () { window.setTimeout(poll, delay * 5); });
  }

  window.setTimeout(poll, delay);
})();
