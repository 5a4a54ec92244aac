/* The EQ VAS slider (questionnaire_answer.html): shown only when this script runs; moving it
   fills in the number box that the form submits, and typing a number moves the slider. The
   number stays empty until the patient moves the slider or types, as the instrument asks for an
   active choice (no default score). */
(function () {
  "use strict";

  function wire(container) {
    var slider = container.querySelector("input[type=range][data-vas-for]");
    var box = document.getElementById(slider.getAttribute("data-vas-for"));
    var output = container.querySelector("output");
    if (!box || !output) {
      return;
    }
    // The words come from the page (data-empty, data-out-of), in the page's language.
    var empty = output.getAttribute("data-empty") || "not chosen yet";
    var outOf = output.getAttribute("data-out-of") || "out of 100";
    function show(value) {
      output.textContent = value === "" ? empty : value;
      slider.setAttribute("aria-valuetext", value === "" ? empty : value + " " + outOf);
    }
    slider.addEventListener("input", function () {
      box.value = slider.value;
      show(slider.value);
    });
    box.addEventListener("input", function () {
      var n = parseInt(box.value, 10);
      if (!isNaN(n) && n >= Number(slider.min) && n <= Number(slider.max)) {
        slider.value = String(n);
      }
      show(box.value.trim());
    });
    show(box.value.trim());
    container.hidden = false;
  }

  var all = document.querySelectorAll("[data-vas]");
  for (var i = 0; i < all.length; i += 1) {
    wire(all[i]);
  }
})();
