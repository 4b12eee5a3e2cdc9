// Tables with four or more columns get the class table-stacked and each body cell the name of its column
// (data-label), so that course.css can show them one row per block on a phone instead of scrolling sideways.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  document.querySelectorAll(".bd-article table").forEach(function (table) {
    const names = Array.from(table.querySelectorAll("thead th")).map(function (th) {
      return th.textContent.trim();
    });
    if (names.length < 4) return;
    table.classList.add("table-stacked");
    table.querySelectorAll("tbody tr").forEach(function (row) {
      Array.from(row.children).forEach(function (cell, i) {
        if (names[i]) cell.dataset.label = names[i];
      });
    });
  });
});
