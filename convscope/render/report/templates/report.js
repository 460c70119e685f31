/* convscope report: draw the charts, sort the tables, filter the layer table. */
(function () {
  "use strict";
  function drawCharts() {
    var node = document.getElementById("cs-figures");
    if (!node || typeof Plotly === "undefined") { return; }
    var figures = JSON.parse(node.textContent);
    figures.forEach(function (fig) {
      var div = document.getElementById(fig.id);
      if (div) {
        Plotly.newPlot(div, fig.data, fig.layout, {displaylogo: false, responsive: true});
      }
    });
  }

  function cellValue(row, index, numeric) {
    var cell = row.cells[index];
    var raw = cell.getAttribute("data-v");
    if (raw === null) { raw = cell.textContent.trim(); }
    if (numeric) { var x = parseFloat(raw); return isNaN(x) ? -Infinity : x; }
    return raw.toLowerCase();
  }

  function makeSortable(table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, index) {
      th.addEventListener("click", function () {
        var numeric = th.getAttribute("data-type") === "num";
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = cellValue(a, index, numeric), y = cellValue(b, index, numeric);
          var order = x < y ? -1 : (x > y ? 1 : 0);
          if (order === 0) {
            order = parseInt(a.getAttribute("data-index"), 10) -
                    parseInt(b.getAttribute("data-index"), 10);
            return order;
          }
          return ascending ? order : -order;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  }

  function makeFilter(input) {
    var table = document.getElementById(input.getAttribute("data-table"));
    var counter = document.getElementById(input.getAttribute("data-count"));
    var rows = table.tBodies[0].rows;
    function apply() {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      Array.prototype.forEach.call(rows, function (row) {
        var text = row.getAttribute("data-search");
        var ok = words.every(function (w) { return text.indexOf(w) !== -1; });
        row.hidden = !ok;
        if (ok) { shown += 1; }
      });
      if (counter) { counter.textContent = shown + " of " + rows.length + " layers"; }
    }
    input.addEventListener("input", apply);
    apply();
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts();
    document.querySelectorAll("table.sortable").forEach(makeSortable);
    document.querySelectorAll("input[data-table]").forEach(makeFilter);
  });
})();
