/* Draws the trend charts. The figures come from the server as JSON in
   <script type="application/json"> blocks (Django's json_script), named by each chart
   element's data-figure attribute; nothing here is inline, as the CSP requires. */
(function () {
  "use strict";

  function draw(element) {
    var source = document.getElementById(element.getAttribute("data-figure"));
    if (!source || !window.Plotly) {
      return;
    }
    var figure = JSON.parse(source.textContent);
    window.Plotly.newPlot(element, figure.data, figure.layout, {
      displayModeBar: false, // no toolbar: fewer controls to tab through; the summary has the numbers
      responsive: true,
      scrollZoom: false,
    });
    element.classList.add("chart-drawn");
  }

  function drawAll() {
    var charts = document.querySelectorAll("[data-figure]");
    for (var i = 0; i < charts.length; i += 1) {
      draw(charts[i]);
    }
    if (charts.length && window.performance && window.performance.mark) {
      window.performance.mark("trends-charts-drawn"); // read by bench/bench_pages.py
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
