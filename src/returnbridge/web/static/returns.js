// The returns grid: deadline countdowns, account view switching, row selection, column chooser, Sync Returns.
// Everything here is an enhancement: without JavaScript every control is a plain link or form.
(function () {
  "use strict";

  // Same wording as web/time_left.py, so the text does not change shape when the script takes over.
  function timeLeft(deadline, now) {
    var seconds = Math.trunc((deadline - now) / 1000);
    var rest = Math.abs(seconds);
    var days = Math.floor(rest / 86400);
    var hours = Math.floor((rest % 86400) / 3600);
    var minutes = Math.floor((rest % 3600) / 60);
    var words = days ? days + " d " + hours + " h" : hours ? hours + " h " + minutes + " min" : minutes + " min";
    return seconds >= 0 ? "in " + words : words + " overdue";
  }

  function countdowns() {
    var now = Date.now();
    document.querySelectorAll("[data-deadline]").forEach(function (element) {
      var deadline = Date.parse(element.getAttribute("data-deadline"));
      if (isNaN(deadline)) {
        return;
      }
      element.textContent = timeLeft(deadline, now);
      element.classList.toggle("overdue", deadline < now);
    });
  }

  // Choosing another account view shows it at once (the Search button does the same without JavaScript).
  function autosubmit() {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () {
        select.form.requestSubmit();
      });
    });
  }

  // Empty fields stay out of the URL, so bookmarked views only carry what was chosen.
  function tidyFilters() {
    var form = document.getElementById("grid-filters");
    if (!form) {
      return;
    }
    form.addEventListener("submit", function () {
      form.querySelectorAll("input, select").forEach(function (field) {
        if (field.name && !field.value && field.type !== "checkbox") {
          field.disabled = true;
        }
      });
    });
  }

  // The column chooser sends the canonical "columns" parameter itself, skipping the server's redirect.
  function columnChooser() {
    var form = document.getElementById("column-chooser");
    if (!form) {
      return;
    }
    form.addEventListener("submit", function (event) {
      var chosen = [];
      form.querySelectorAll('input[name="col"]:checked').forEach(function (box) {
        chosen.push(box.value);
      });
      if (!chosen.length) {
        return; // let the server say that at least one column is needed
      }
      event.preventDefault();
      var params = new URLSearchParams();
      form.querySelectorAll('input[type="hidden"]').forEach(function (field) {
        params.append(field.name, field.value);
      });
      params.set("columns", chosen.join(","));
      window.location.assign(form.getAttribute("action") + "?" + params.toString());
    });
  }

  function selection() {
    var all = document.getElementById("select-all");
    var form = document.getElementById("bulk-form");
    if (!all || !form) {
      return;
    }
    var boxes = Array.prototype.slice.call(document.querySelectorAll('input[name="case_ids"]'));
    var note = document.getElementById("bulk-selected");
    function update() {
      var picked = boxes.filter(function (box) { return box.checked; }).length;
      all.checked = picked > 0 && picked === boxes.length;
      all.indeterminate = picked > 0 && picked < boxes.length;
      if (note) {
        note.textContent = picked ? picked + " selected" : "Select rows, then decide them together.";
      }
      form.querySelectorAll('button[name="action"]').forEach(function (button) {
        button.disabled = picked === 0;
      });
    }
    all.hidden = false;
    all.addEventListener("change", function () {
      boxes.forEach(function (box) { box.checked = all.checked; });
      update();
    });
    boxes.forEach(function (box) { box.addEventListener("change", update); });
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    countdowns();
    window.setInterval(countdowns, 30000);
    autosubmit();
    tidyFilters();
    columnChooser();
    selection();
  });
})();
