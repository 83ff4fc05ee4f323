// Refreshes a mailing's progress bar while a run is sending, then reloads the
// page once so the runs table and the delivery log show the outcome.
(function () {
  "use strict";
  // Django's JavaScript catalog (loaded by base.html) translates; without it,
  // English.
  var gettext = window.gettext || function (text) { return text; };
  var box = document.getElementById("run-progress");
  if (!box) return;
  var wasRunning = box.dataset.running === "1";
  var bar = box.querySelector(".progress-bar");
  var text = box.querySelector("[data-progress-text]");
  var delay = 2000;

  function poll() {
    fetch(box.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) return;
        if (data.running) {
          wasRunning = true;
          box.classList.remove("d-none");
          bar.style.width = data.percent + "%";
          box.querySelector(".progress").setAttribute("aria-valuenow", data.percent);
          text.textContent = data.done + " / " + data.total;
          window.setTimeout(poll, delay);
        } else if (wasRunning) {
          // Show the full bar for a moment, then the outcome.
          bar.style.width = "100%";
          bar.classList.remove("progress-bar-animated");
          box.querySelector(".progress").setAttribute("aria-valuenow", 100);
          box.querySelector("[data-progress-label]").textContent = gettext("Done");
          // A run ends only when every delivery is final: all of them are done.
          var total = text.textContent.split(" / ")[1];
          if (total) text.textContent = total + " / " + total;
          window.setTimeout(function () { window.location.reload(); }, 1000);
        }
      })
      .catch(function () { window.setTimeout(poll, delay * 5); });
  }

  // Poll while sending; after "send now" the run may start a moment later,
  // so a page loaded without a run still looks a few times.
  if (wasRunning) {
    window.setTimeout(poll, delay);
  } else {
    var tries = 3;
    (function look() {
      fetch(box.dataset.url, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (data && data.running) { wasRunning = true; poll(); }
          else if (--tries > 0) window.setTimeout(look, delay);
        });
    })();
  }
})();
