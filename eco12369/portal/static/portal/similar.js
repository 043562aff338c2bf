/* H5 report form: "already reported?" (issue #7). Once the reporter has given the place (district and
   address, or the location) or the reported party, ask the server for open cases nearby or about the
   same party and show them; a suggestion's button submits the separate follow form. Plain ES5. */
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  var panel = document.getElementById("similar-panel");
  var followForm = document.getElementById("follow-form");
  if (!form || !panel || !window.fetch) { return; }

  var FIELDS = ["district", "address", "reported_party", "latitude", "longitude"];
  var timer = null;
  var last = "";

  function value(name) {
    var el = form.querySelector('[name="' + name + '"]');
    return el ? String(el.value || "").trim() : "";
  }
  function query() {
    var parts = [];
    FIELDS.forEach(function (name) {
      parts.push(encodeURIComponent(name) + "=" + encodeURIComponent(value(name)));
    });
    return parts.join("&");
  }
  function enough() {
    return !!(value("reported_party") || (value("latitude") && value("longitude")) ||
      (value("district") && value("address").length >= 2));
  }
  function look() {
    if (!enough()) { panel.hidden = true; panel.innerHTML = ""; last = ""; return; }
    var q = query();
    if (q === last) { return; }
    last = q;
    fetch(panel.getAttribute("data-url") + "?" + q, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (res) { return res.ok ? res.text() : ""; })
      .then(function (html) {
        if (q !== last) { return; }  // a newer question is on its way
        panel.innerHTML = html;
        panel.hidden = !html.trim();
      })
      .catch(function () { last = ""; });
  }
  function soon() {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(look, 600);
  }
  FIELDS.forEach(function (name) {
    var el = form.querySelector('[name="' + name + '"]');
    if (!el) { return; }
    el.addEventListener("change", soon);
    el.addEventListener("input", soon);
  });
  form.addEventListener("eco:located", soon);
  if (followForm) {
    followForm.addEventListener("submit", function () {
      var note = document.getElementById("follow-note");
      var description = form.querySelector('[name="description"]');
      if (note && description) { note.value = description.value.slice(0, 500); }
    });
  }
  look();
}());
