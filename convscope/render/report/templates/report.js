/* convscope report: draw the charts, sort the tables, filter and export the layer table. */
(function () {
  "use strict";
  function readJson(id, fallback) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : fallback;
  }

  function drawCharts() {
    if (typeof Plotly === "undefined") { return; }
    var config = readJson("cs-plotly-config", {displaylogo: false, responsive: true});
    readJson("cs-figures", []).forEach(function (fig) {
      var div = document.getElementById(fig.id);
      if (!div) { return; }
      // The box has the figure's height (set on the page); plotly fills it and follows
      // its width on every resize, so plot and box never disagree.
      var layout = Object.assign({}, fig.layout, {autosize: true});
      delete layout.height;
      Plotly.newPlot(div, fig.data, layout, config);
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
        var current = th.getAttribute("aria-sort");
        // Numbers go largest first (the question is "what is biggest?"), text A to Z;
        // the # column is the module order, so it starts ascending.
        var first = numeric && th.getAttribute("data-key") !== "index" ? "descending" : "ascending";
        var next = current === null ? first : (current === "ascending" ? "descending" : "ascending");
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", next);
        var ascending = next === "ascending";
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = cellValue(a, index, numeric), y = cellValue(b, index, numeric);
          var order = x < y ? -1 : (x > y ? 1 : 0);
          if (order === 0) {
            return parseInt(a.getAttribute("data-index"), 10) -
                   parseInt(b.getAttribute("data-index"), 10);
          }
          return ascending ? order : -order;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  }

  function makeFilter(input) {
    var tableId = input.getAttribute("data-table");
    var table = document.getElementById(tableId);
    var counter = document.getElementById(input.getAttribute("data-count"));
    // A checked box with data-require="x" keeps only the rows marked data-x="1": the
    // depthwise convs of a report, the changed layers of a comparison.
    var toggles = Array.prototype.filter.call(
      document.querySelectorAll("input[type=checkbox][data-require]"),
      function (box) { return box.getAttribute("data-table") === tableId; });
    var rows = table.tBodies[0].rows;
    function apply() {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      Array.prototype.forEach.call(rows, function (row) {
        var text = row.getAttribute("data-search");
        var ok = words.every(function (w) { return text.indexOf(w) !== -1; }) &&
                 toggles.every(function (box) {
                   return !box.checked ||
                          row.getAttribute("data-" + box.getAttribute("data-require")) === "1";
                 });
        row.hidden = !ok;
        if (ok) { shown += 1; }
      });
      if (counter) { counter.textContent = shown + " of " + rows.length + " layers"; }
    }
    input.addEventListener("input", apply);
    toggles.forEach(function (box) { box.addEventListener("change", apply); });
    apply();
  }

  function csvField(text) {
    return /[",\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }

  /* The visible rows in their current order; raw numbers (data-v) where a cell has them,
     so a spreadsheet gets 1234567 rather than "1.23M". */
  function tableCsv(table) {
    var lines = [];
    var heads = Array.prototype.map.call(table.tHead.rows[0].cells, function (th) {
      return csvField(th.textContent.trim());
    });
    lines.push(heads.join(","));
    Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
      if (row.hidden) { return; }
      lines.push(Array.prototype.map.call(row.cells, function (cell) {
        var raw = cell.getAttribute("data-v");
        var numeric = raw !== null && raw !== "" && !isNaN(Number(raw));
        return csvField(numeric ? raw : cell.textContent.trim());
      }).join(","));
    });
    return lines.join("\n") + "\n";
  }

  function makeExport(button) {
    var table = document.getElementById(button.getAttribute("data-table"));
    button.addEventListener("click", function () {
      var blob = new Blob([tableCsv(table)], {type: "text/csv"});
      var link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = button.getAttribute("data-file") || "layers.csv";
      document.body.appendChild(link);
      link.click();
      link.remove();
    });
  }

  /* A checkbox with data-columns="x" shows or hides the cells of class x; when the table
     is wider than its scroll box at load, those columns start hidden. */
  function makeColumnToggle(box) {
    var table = document.getElementById(box.getAttribute("data-table"));
    var name = box.getAttribute("data-columns");
    var wrap = table.parentElement;
    function apply() { table.classList.toggle("hide-" + name, !box.checked); }
    if (table.scrollWidth > wrap.clientWidth) { box.checked = false; }
    box.addEventListener("change", apply);
    apply();
  }

  window.convscopeTableCsv = tableCsv;
  document.addEventListener("DOMContentLoaded", function () {
    drawCharts();
    document.querySelectorAll("table.sortable").forEach(makeSortable);
    document.querySelectorAll("input[type=search][data-table]").forEach(makeFilter);
    document.querySelectorAll("button#csv-export").forEach(makeExport);
    document.querySelectorAll("input[type=checkbox][data-columns]").forEach(makeColumnToggle);
  });
})();
