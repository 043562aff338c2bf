/* H5 report form: photo preview and pre-checks, "use my location", anonymity, counter, one submit.
   Plain ES5 so that older in-app browsers run it; the server checks everything again. */
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  if (!form) { return; }

  var MAX_PHOTOS = parseInt(form.getAttribute("data-max-photos"), 10) || 9;
  var MAX_BYTES = parseInt(form.getAttribute("data-max-bytes"), 10) || 10485760;
  var TYPES = ["image/jpeg", "image/png", "image/webp"];

  function each(list, fn) { Array.prototype.forEach.call(list, fn); }
  function mb(bytes) {
    return bytes < 1048576 ? Math.max(1, Math.round(bytes / 1024)) + " KB" : (bytes / 1048576).toFixed(1) + " MB";
  }

  /* ---- error summary: bring it into view after a refused submit */
  var summary = document.getElementById("form-errors");
  if (summary) {
    summary.focus({ preventScroll: true });
  }

  /* ---- description counter */
  each(document.querySelectorAll("[data-counter-for]"), function (counter) {
    var field = document.getElementById(counter.getAttribute("data-counter-for"));
    var max = parseInt(counter.getAttribute("data-max"), 10);
    if (!field) { return; }
    function update() {
      var n = field.value.length;
      counter.textContent = n + " / " + max;
      counter.className = "counter" + (n > max ? " is-over" : "");
    }
    field.addEventListener("input", update);
    update();
  });

  /* ---- anonymity: an anonymous report keeps no name and no phone */
  var contact = document.getElementById("contact-fields");
  function syncAnonymous() {
    var anonymous = form.querySelector('input[name="anonymous"][value="1"]');
    if (contact) { contact.hidden = !!(anonymous && anonymous.checked); }
  }
  each(form.querySelectorAll('input[name="anonymous"]'), function (radio) {
    radio.addEventListener("change", syncAnonymous);
  });
  syncAnonymous();

  /* ---- location (optional, asked only on tap) */
  var locateBtn = document.getElementById("locate-btn");
  var locateStatus = document.getElementById("locate-status");
  var locateClear = document.getElementById("locate-clear");
  var lat = form.querySelector('input[name="latitude"]');
  var lng = form.querySelector('input[name="longitude"]');
  function locateMessage(text, isError) {
    locateStatus.textContent = text;
    locateStatus.className = "locate__status" + (isError ? " is-error" : "");
  }
  if (locateBtn && "geolocation" in navigator) {
    locateBtn.hidden = false;
    locateBtn.addEventListener("click", function () {
      if (window.isSecureContext === false) {
        locateMessage("当前连接不是加密连接，浏览器不允许定位，请手动填写地址。", true);
        return;
      }
      locateMessage("正在获取位置…", false);
      locateBtn.disabled = true;
      navigator.geolocation.getCurrentPosition(function (pos) {
        locateBtn.disabled = false;
        lat.value = pos.coords.latitude.toFixed(6);
        lng.value = pos.coords.longitude.toFixed(6);
        var accuracy = pos.coords.accuracy ? "（精度约 " + Math.round(pos.coords.accuracy) + " 米）" : "";
        locateMessage("已定位：" + lat.value + ", " + lng.value + accuracy, false);
        locateClear.hidden = false;
        located();
      }, function (err) {
        locateBtn.disabled = false;
        var text = "暂时无法获取位置，请手动填写地址。";
        if (err && err.code === 1) { text = "您没有允许获取位置，可以手动填写地址。"; }
        if (err && err.code === 3) { text = "获取位置超时，请稍后再试或手动填写地址。"; }
        locateMessage(text, true);
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  }
  if (locateClear) {
    locateClear.addEventListener("click", function () {
      lat.value = "";
      lng.value = "";
      locateMessage("", false);
      locateClear.hidden = true;
      located();
    });
  }
  /* the place changed: "already reported?" (similar.js) looks again */
  function located() {
    var event;
    try { event = new CustomEvent("eco:located"); } catch (e) {
      event = document.createEvent("CustomEvent");
      event.initCustomEvent("eco:located", false, false, null);
    }
    form.dispatchEvent(event);
  }

  /* ---- photos: previews, pre-checks, add in several rounds, remove one */
  var input = document.getElementById("id_photos");
  var grid = document.getElementById("photo-grid");
  var addTile = document.getElementById("photo-add");
  var photoErrors = document.getElementById("photo-client-errors");
  var canEdit = false;
  try { canEdit = typeof DataTransfer === "function" && !!new DataTransfer().items; } catch (e) { canEdit = false; }
  var chosen = [];
  var urls = [];

  function keptStaged() {
    var n = 0;
    each(grid.querySelectorAll("[data-staged]"), function (tile) {
      var box = tile.querySelector("input[type=checkbox]");
      tile.className = "photo photo--staged" + (box.checked ? " is-removed" : "");
      if (!box.checked) { n += 1; }
    });
    return n;
  }
  function showPhotoErrors(messages) {
    photoErrors.innerHTML = "";
    each(messages, function (text) {
      var li = document.createElement("li");
      li.textContent = text;
      photoErrors.appendChild(li);
    });
  }
  function syncInput() {
    if (!canEdit) { return; }
    var dt = new DataTransfer();
    each(chosen, function (file) { dt.items.add(file); });
    input.files = dt.files;
  }
  function render() {
    each(urls, function (u) { URL.revokeObjectURL(u); });
    urls = [];
    each(grid.querySelectorAll(".photo--new"), function (tile) { grid.removeChild(tile); });
    each(chosen, function (file, index) {
      var tile = document.createElement("div");
      tile.className = "photo photo--new";
      var img = document.createElement("img");
      var url = URL.createObjectURL(file);
      urls.push(url);
      img.src = url;
      img.alt = "待上传的照片 " + (index + 1);
      tile.appendChild(img);
      var size = document.createElement("span");
      size.className = "photo__size";
      size.textContent = mb(file.size);
      tile.appendChild(size);
      if (canEdit) {
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "photo__remove";
        remove.setAttribute("aria-label", "移除这张照片");
        remove.textContent = "×";
        remove.addEventListener("click", function () {
          chosen.splice(index, 1);
          syncInput();
          render();
        });
        tile.appendChild(remove);
      }
      grid.insertBefore(tile, addTile);
    });
    addTile.hidden = canEdit && keptStaged() + chosen.length >= MAX_PHOTOS;
  }
  if (input && grid && addTile) {
    input.addEventListener("change", function () {
      var incoming = Array.prototype.slice.call(input.files || []);
      var next = canEdit ? chosen.slice() : [];
      var messages = [];
      var dropped = 0;
      each(incoming, function (file) {
        if (file.type && TYPES.indexOf(file.type) < 0) {
          messages.push("文件“" + file.name + "”不是 JPEG、PNG 或 WebP 格式的照片" + (canEdit ? "，已略过。" : "，请重新选择。"));
          return;
        }
        if (file.size > MAX_BYTES) {
          messages.push("照片“" + file.name + "”大小为 " + mb(file.size) + "，超过 10 MB" + (canEdit ? "，已略过。" : "，请重新选择。"));
          return;
        }
        if (canEdit && keptStaged() + next.length >= MAX_PHOTOS) { dropped += 1; return; }
        next.push(file);
      });
      if (dropped) { messages.push("最多上传 " + MAX_PHOTOS + " 张照片，多出的 " + dropped + " 张已略过。"); }
      if (!canEdit && keptStaged() + next.length > MAX_PHOTOS) {
        messages.push("最多上传 " + MAX_PHOTOS + " 张照片，您选择了 " + (keptStaged() + next.length) + " 张，请重新选择。");
      }
      chosen = next;
      syncInput();
      showPhotoErrors(messages);
      render();
    });
    each(grid.querySelectorAll("[data-staged] input[type=checkbox]"), function (box) {
      box.addEventListener("change", function () { render(); });
    });
    keptStaged();
  }

  /* ---- one submit only; the server also refuses a second case from the same form */
  var submitBtn = document.getElementById("submit-btn");
  var submitting = false;
  form.addEventListener("submit", function (event) {
    if (submitting) { event.preventDefault(); return; }
    submitting = true;
    submitBtn.disabled = true;
    submitBtn.textContent = chosen.length ? "正在上传照片并提交，请稍候…" : "正在提交…";
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      submitting = false;
      submitBtn.disabled = false;
      submitBtn.textContent = "提交举报";
    }
  });
}());
