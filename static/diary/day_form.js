/* The day form (templates/diary/_day_form.html): leaving with unsaved changes asks first.
 * A change to any input marks the form dirty; submitting the form itself clears the mark, so
 * only leaving some other way (a link, another button's form, closing the tab) is stopped.
 * Static file, no inline script (the CSP forbids it). */
(function () {
  "use strict";
  var form = document.getElementById("day-form");
  if (!form) { return; }
  // A form shown again after a refused save or a conflict holds answers not saved yet.
  var dirty = form.getAttribute("data-unsaved") === "1";
  function markDirty() { dirty = true; }
  form.addEventListener("input", markDirty);
  form.addEventListener("change", markDirty);
  form.addEventListener("submit", function () { dirty = false; });
  // Links that deliberately drop the changes ("Keep the saved one" after a conflict).
  var discards = document.querySelectorAll("[data-discards-changes]");
  for (var i = 0; i < discards.length; i += 1) {
    discards[i].addEventListener("click", function () { dirty = false; });
  }
  window.addEventListener("beforeunload", function (event) {
    if (!dirty) { return undefined; }
    var message = form.getAttribute("data-dirty-warning") || "You have unsaved changes.";
    event.preventDefault();
    event.returnValue = message; // older browsers show (or require) this
    return message;
  });
}());
