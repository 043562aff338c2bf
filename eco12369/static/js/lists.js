// The case lists (issue 15): a click on 导出Excel shows that the workbook is being made until the download
// starts (the server then sends its length, so the browser's download bar shows the progress).
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a.export-link");
    if (!link) { return; }
    var note = document.getElementById("export-note");
    if (!note) { return; }
    note.hidden = false;
    link.classList.add("is-busy");
    link.setAttribute("aria-busy", "true");
    // The page stays (the response is a download): clear the note once the download has had time to start.
    window.setTimeout(function () {
      note.hidden = true;
      link.classList.remove("is-busy");
      link.removeAttribute("aria-busy");
    }, 15000);
  });
}());

// The preview pane (issue 15): a click on a row, or Enter on it, loads the case's summary beside the list;
// the up and down arrows move to the next row and load its summary. Links in the row keep their own job.
(function () {
  "use strict";
  function select(row) {
    var pane = document.getElementById("case-preview");
    if (!row || !pane || !window.htmx) { return; }
    var rows = document.querySelectorAll("tr.previewable");
    for (var i = 0; i < rows.length; i++) {
      rows[i].classList.remove("is-selected");
      rows[i].removeAttribute("aria-selected");
    }
    row.classList.add("is-selected");
    row.setAttribute("aria-selected", "true");
    window.htmx.ajax("GET", row.getAttribute("data-preview"), { target: "#case-preview", swap: "innerHTML" });
  }
  document.addEventListener("click", function (event) {
    if (!event.target.closest || event.target.closest("a, button, input, select, textarea")) { return; }
    select(event.target.closest("tr.previewable"));
  });
  document.addEventListener("keydown", function (event) {
    var row = event.target.closest && event.target.closest("tr.previewable");
    if (!row || event.target !== row) { return; }
    var next = null;
    if (event.key === "Enter" || event.key === " ") {
      next = row;
    } else if (event.key === "ArrowDown") {
      next = row.nextElementSibling;
    } else if (event.key === "ArrowUp") {
      next = row.previousElementSibling;
    }
    if (!next || !next.classList.contains("previewable")) { return; }
    event.preventDefault();
    next.focus();
    select(next);
  });
}());

// A form whose work can take more than a second (the holiday calendar import recomputes open deadlines)
// says so while the next page loads: ``data-busy-note`` names the note to show.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var id = form.getAttribute && form.getAttribute("data-busy-note");
    var note = id && document.getElementById(id);
    if (!note) { return; }
    note.hidden = false;
    form.setAttribute("aria-busy", "true");
  });
}());
