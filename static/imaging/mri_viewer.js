/* The MRI slice viewer. The page gives its settings as JSON (Django's json_script, id
   "mri-viewer-config"); the voxels come from the volume URL as uint16 little endian
   (slices x rows x columns, 0..4095), the saliency map as uint8 of the same shape. Scroll with
   the keyboard (arrows, Page Up/Down, Home/End), the wheel, a vertical swipe or the slider;
   window presets; the saliency overlay switch; the region table's slice links jump to their
   slices. Nothing inline, as the CSP requires. */
(function () {
  "use strict";

  var config = document.getElementById("mri-viewer-config");
  var canvas = document.getElementById("mri-canvas");
  if (!config || !canvas) {
    return;
  }
  var settings = JSON.parse(config.textContent);
  var stage = document.getElementById("mri-stage");
  var slider = document.getElementById("mri-slice");
  var windowSelect = document.getElementById("mri-window");
  var overlayBox = document.getElementById("mri-overlay");
  var status = document.getElementById("mri-status");
  var context = canvas.getContext("2d");
  var state = { slice: 0, center: 2047.5, width: 4095, overlay: !!overlayBox.checked, selected: null };
  var volume = null; // Uint16Array
  var saliency = null; // Uint8Array or null
  var shape = [0, 0, 0];
  var presets = [];
  var image = null;

  function load(url) {
    return fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (!r.ok) {
        throw new Error("HTTP " + r.status);
      }
      return r.arrayBuffer().then(function (buffer) {
        return { buffer: buffer, headers: r.headers };
      });
    });
  }

  function regionsOn(slice) {
    return (settings.regions || []).filter(function (r) {
      return r.first <= slice && slice <= r.last;
    });
  }

  function draw() {
    if (!volume) {
      return;
    }
    var rows = shape[1];
    var cols = shape[2];
    var n = rows * cols;
    var offset = state.slice * n;
    var low = state.center - state.width / 2;
    var scale = 255 / Math.max(1, state.width);
    var px = image.data;
    var showSaliency = state.overlay && saliency;
    for (var i = 0; i < n; i += 1) {
      var g = (volume[offset + i] - low) * scale;
      g = g < 0 ? 0 : g > 255 ? 255 : g;
      var r = g;
      var gr = g;
      var b = g;
      if (showSaliency) {
        var a = (saliency[offset + i] / 255) * 0.6; // a warm tint where the model saw evidence
        r = g + (255 - g) * a;
        gr = g + (140 - g) * a;
        b = g * (1 - a);
      }
      px[4 * i] = r;
      px[4 * i + 1] = gr;
      px[4 * i + 2] = b;
      px[4 * i + 3] = 255;
    }
    context.putImageData(image, 0, 0);
    var here = regionsOn(state.slice);
    var names = here.map(function (r) {
      return r.label;
    });
    var text = "Slice " + (state.slice + 1) + " of " + shape[0];
    var chosen = state.selected;
    if (chosen) {
      var on = chosen.first <= state.slice && state.slice <= chosen.last;
      text += ". " + chosen.label + (on ? " is on this slice" : " is on slices " + (chosen.first + 1) + " to " + (chosen.last + 1));
    }
    if (names.length) {
      text += names.length <= 3 ? ". Regions on this slice: " + names.join(", ") : ". " + names.length + " regions on this slice";
    }
    text += showSaliency ? ". Saliency map shown" : "";
    status.textContent = text;
    canvas.setAttribute("aria-label", "MRI " + settings.plane + " slice " + (state.slice + 1) + " of " + shape[0]);
    slider.value = String(state.slice + 1);
    var marked = document.querySelectorAll("tr[data-region-index]");
    for (var k = 0; k < marked.length; k += 1) {
      var index = Number(marked[k].getAttribute("data-region-index"));
      var on = here.some(function (r) {
        return r.index === index;
      });
      marked[k].classList.toggle("on-slice", on);
    }
  }

  function go(slice) {
    if (!volume) {
      return;
    }
    state.slice = Math.max(0, Math.min(shape[0] - 1, slice));
    draw();
  }

  function step(delta) {
    go(state.slice + delta);
  }

  function onKey(event) {
    var moves = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1, PageDown: 5, PageUp: -5 };
    if (event.key in moves) {
      step(moves[event.key]);
    } else if (event.key === "Home") {
      go(0);
    } else if (event.key === "End") {
      go(shape[0] - 1);
    } else {
      return;
    }
    event.preventDefault();
  }

  function wire() {
    stage.addEventListener("keydown", onKey);
    stage.addEventListener(
      "wheel",
      function (event) {
        event.preventDefault();
        step(event.deltaY > 0 ? 1 : -1);
      },
      { passive: false }
    );
    var touchY = null;
    stage.addEventListener("touchstart", function (event) {
      touchY = event.touches[0].clientY;
    }, { passive: true });
    stage.addEventListener("touchmove", function (event) {
      if (touchY === null) {
        return;
      }
      var dy = event.touches[0].clientY - touchY;
      if (Math.abs(dy) >= 24) { // one slice per 24 px of swipe
        step(dy > 0 ? 1 : -1);
        touchY = event.touches[0].clientY;
      }
      event.preventDefault();
    }, { passive: false });
    stage.addEventListener("touchend", function () {
      touchY = null;
    });
    slider.addEventListener("input", function () {
      go(Number(slider.value) - 1);
    });
    document.getElementById("mri-prev").addEventListener("click", function () {
      step(-1);
    });
    document.getElementById("mri-next").addEventListener("click", function () {
      step(1);
    });
    windowSelect.addEventListener("change", function () {
      var preset = presets[Number(windowSelect.value)] || presets[0];
      state.center = preset.center;
      state.width = preset.width;
      draw();
    });
    overlayBox.addEventListener("change", function () {
      state.overlay = overlayBox.checked;
      draw();
    });
    var links = document.querySelectorAll(".slice-link[data-slice]");
    for (var i = 0; i < links.length; i += 1) {
      links[i].addEventListener("click", function (event) {
        event.preventDefault();
        var link = event.currentTarget;
        var rows = document.querySelectorAll("tr.current");
        for (var j = 0; j < rows.length; j += 1) {
          rows[j].classList.remove("current");
        }
        var row = link.closest("tr");
        if (row) {
          row.classList.add("current");
        }
        var index = Number(link.getAttribute("data-region-index"));
        state.selected = (settings.regions || []).filter(function (r) {
          return r.index === index;
        })[0] || null;
        go(Number(link.getAttribute("data-slice")));
        stage.scrollIntoView({ block: "nearest" });
        stage.focus({ preventScroll: true });
      });
    }
  }

  function fillPresets(header) {
    try {
      presets = JSON.parse(header || "[]");
    } catch (e) {
      presets = [];
    }
    if (!presets.length) {
      presets = [{ name: "Auto (whole volume)", center: 2047.5, width: 4095 }];
    }
    windowSelect.textContent = "";
    presets.forEach(function (preset, i) {
      var option = document.createElement("option");
      option.value = String(i);
      option.textContent = preset.name;
      windowSelect.appendChild(option);
    });
    state.center = presets[0].center;
    state.width = presets[0].width;
  }

  load(settings.volume_url)
    .then(function (got) {
      shape = (got.headers.get("X-Volume-Shape") || "").split(",").map(Number);
      volume = new Uint16Array(got.buffer);
      if (shape.length !== 3 || volume.length !== shape[0] * shape[1] * shape[2]) {
        throw new Error("unexpected volume size");
      }
      fillPresets(got.headers.get("X-Window-Presets"));
      canvas.width = shape[2];
      canvas.height = shape[1];
      image = context.createImageData(shape[2], shape[1]);
      slider.max = String(shape[0]);
      state.slice = Math.floor(shape[0] / 2);
      if (!settings.saliency_url) {
        return null;
      }
      return load(settings.saliency_url).then(function (sal) {
        var map = new Uint8Array(sal.buffer);
        saliency = map.length === volume.length ? map : null;
      }, function () {
        saliency = null;
      });
    })
    .then(function () {
      wire();
      draw();
      stage.setAttribute("data-ready", "true");
    })
    .catch(function (error) {
      status.textContent = "The series could not be shown (" + error.message + "). Reload the page to try again.";
    });
})();
