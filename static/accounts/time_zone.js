/* Fill hidden time zone inputs (data-browser-time-zone) with the browser's own zone, e.g.
 * "Europe/Paris", so that a diary day starts at the patient's midnight. The server checks the
 * name against its zone database. Static file (the CSP forbids inline script). */
(function () {
  "use strict";
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
  if (!zone) { return; }
  var inputs = document.querySelectorAll("input[data-browser-time-zone]");
  for (var i = 0; i < inputs.length; i += 1) {
    if (!inputs[i].value) { inputs[i].value = zone; }
  }
}());
