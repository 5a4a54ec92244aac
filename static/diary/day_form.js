/* The day form (templates/diary/_day_form.html): leaving with unsaved changes asks first.
 * A change to any input marks the form dirty; submitting the form itself clears the mark, so
 * only leaving some other way (a link, another button's form, closing the tab) is stopped.
 * Static file, no inline script (the CSP forbids it). */
(function () {
  "use strict";
  var form = document.getElementById("day-form");
  if (!form) { return; }
  var dirty = false;
  function markDirty() { dirty = true; }
  form.addEventListener("input", markDirty);
  form.addEventListener("change", markDirty);
  form.addEventListener("submit", function () { dirty = false; });
  window.addEventListener("beforeunload", function (event) {
    if (!dirty) { return undefined; }
    var message = form.getAttribute("data-dirty-warning") || "You have unsaved changes.";
    event.preventDefault();
    event.returnValue = message; // older browsers show (or require) this
    return message;
  });
}());
