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
