/* Large-text mode of the H5 pages (适老化): the choice is kept in this phone's browser storage and applied
   before the page is drawn (this script is loaded in <head> without defer). */
(function () {
  "use strict";
  var KEY = "eco12369-large-text";
  var root = document.documentElement;
  function stored() {
    try { return window.localStorage.getItem(KEY) === "1"; } catch (e) { return false; }
  }
  function apply(on) {
    root.classList.toggle("is-large-text", on);
    var button = document.getElementById("textsize-toggle");
    if (button) button.setAttribute("aria-pressed", on ? "true" : "false");
  }
  apply(stored());
  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("textsize-toggle");
    if (!button) return;
    button.hidden = false;
    apply(stored());
    button.addEventListener("click", function () {
      var on = !root.classList.contains("is-large-text");
      try { window.localStorage.setItem(KEY, on ? "1" : "0"); } catch (e) { /* private mode: this page only */ }
      apply(on);
    });
  });
})();
