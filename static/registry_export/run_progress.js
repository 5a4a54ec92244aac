// Live progress of an export run: polls the run's API endpoint (same origin, session cookie)
// while the run is pending or running, then reloads once so the file list appears.
(function () {
  "use strict";
  var box = document.getElementById("run-status");
  if (!box) { return; }
  var url = box.getAttribute("data-status-url");
  var bar = document.getElementById("run-progress");
  var text = document.getElementById("run-progress-text");
  var label = document.getElementById("run-status-text");
  var active = { pending: true, running: true };
  if (!active[box.getAttribute("data-status")]) { return; }

  function show(run) {
    var p = run.progress;
    bar.max = Math.max(p.rows_total, 1);
    bar.value = p.rows_done;
    bar.textContent = p.percent + "%";
    text.textContent = p.rows_done + " of " + p.rows_total + " rows (" + p.percent + "%)";
    label.className = "status status-" + run.status;
    label.textContent = { pending: "Queued", running: "Running",
      succeeded: "Finished", failed: "Failed", cancelled: "Cancelled" }[run.status] || run.status;
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (run) {
        show(run);
        if (active[run.status]) { window.setTimeout(poll, 2000); } else { window.location.reload(); }
      })
      .catch(function () { window.setTimeout(poll, 10000); });
  }
  window.setTimeout(poll, 1000);
}());
