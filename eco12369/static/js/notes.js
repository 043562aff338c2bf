// @mention autocomplete of the internal-note form (内部备注): after "@" and a few letters, the people who may
// see the case (the server filters by username or name); choosing one writes "@name " into the note.
(function () {
  "use strict";
  function setup(form) {
    var box = form.querySelector("textarea");
    var list = form.querySelector(".mention-list");
    var url = form.getAttribute("data-people-url");
    if (!box || !list || !url) return;
    var timer = null;
    function current() {
      var before = box.value.slice(0, box.selectionStart);
      var m = /(^|[\s，。、：；（])[@＠]([^\s@＠，。、：；]*)$/.exec(before);
      return m ? { query: m[2], start: before.length - m[2].length - 1 } : null;
    }
    function close() { list.hidden = true; list.innerHTML = ""; }
    function choose(person, at) {
      var handle = person.name && person.name.indexOf(" ") < 0 ? person.name : person.username;
      var end = box.selectionStart;
      box.value = box.value.slice(0, at.start) + "@" + handle + " " + box.value.slice(end);
      var caret = at.start + handle.length + 2;
      box.setSelectionRange(caret, caret);
      close();
      box.focus();
    }
    function show(people, at) {
      list.innerHTML = "";
      if (!people.length) { close(); return; }
      people.forEach(function (p) {
        var li = document.createElement("li");
        var b = document.createElement("button");
        b.type = "button";
        b.className = "mention-option";
        b.setAttribute("role", "option");
        b.textContent = p.name + "（" + p.username + (p.agency ? " · " + p.agency : "") + "）";
        b.addEventListener("click", function () { choose(p, at); });
        li.appendChild(b);
        list.appendChild(li);
      });
      list.hidden = false;
    }
    box.addEventListener("input", function () {
      var at = current();
      if (!at) { close(); return; }
      clearTimeout(timer);
      timer = setTimeout(function () {
        fetch(url + "?q=" + encodeURIComponent(at.query), { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : { people: [] }; })
          .then(function (data) { show(data.people || [], at); })
          .catch(close);
      }, 150);
    });
    box.addEventListener("keydown", function (e) {
      if (e.key === "Escape") close();
      if (e.key === "ArrowDown" && !list.hidden) {
        var first = list.querySelector("button");
        if (first) { e.preventDefault(); first.focus(); }
      }
    });
  }
  function init() { document.querySelectorAll("form.note-form").forEach(setup); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
  document.addEventListener("htmx:afterSettle", init);
})();
