// Sign-up: offer the browser's own time zone (an IANA name such as
// "Europe/Moscow"); the server keeps its default if the name is unknown.
(function () {
  "use strict";
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (error) {
    return;
  }
  if (!zone) return;
  document.querySelectorAll("input[data-browser-time-zone]").forEach(function (input) {
    if (!input.value) input.value = zone;
  });
})();
