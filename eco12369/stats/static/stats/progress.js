// Progress for a slow download (issue 12, D10): a link with data-progress="<id of a status element>"
// shows, while the server builds the file, what is happening and for how long. The link gets a one-off
// token; the server's response sets the cookie download_token=<token>, and its arrival ends the wait.
(function () {
  "use strict";
  var LIMIT_MS = 120000;
  function hasCookie(token) {
    return document.cookie.split("; ").indexOf("download_token=" + token) >= 0;
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[data-progress]") : null;
    if (!link) return;
    if (link.getAttribute("aria-busy") === "true") { event.preventDefault(); return; }
    var token = String(Date.now()) + String(Math.floor(Math.random() * 1000000));
    var url = new URL(link.href, window.location.href);
    url.searchParams.set("download_token", token);
    link.href = url.toString();
    var status = document.getElementById(link.getAttribute("data-progress"));
    var text = link.getAttribute("data-progress-text") || "正在生成，请稍候…";
    var started = Date.now();
    link.setAttribute("aria-busy", "true");
    link.classList.add("is-busy");
    if (status) { status.hidden = false; status.textContent = text; }
    var timer = window.setInterval(function () {
      var done = hasCookie(token);
      var seconds = Math.round((Date.now() - started) / 1000);
      if (done || Date.now() - started > LIMIT_MS) {
        window.clearInterval(timer);
        link.removeAttribute("aria-busy");
        link.classList.remove("is-busy");
        document.cookie = "download_token=; Max-Age=0; path=/";
        if (status) { status.textContent = done ? "已生成（用时 " + seconds + " 秒），浏览器正在下载。" : ""; }
      } else if (status) {
        status.textContent = text + "已用时 " + seconds + " 秒";
      }
    }, 250);
  });
})();
