/* The subscription-notice button (WeChat's open tag <wx-open-subscribe>) on the reporter's pages.
   wx.config takes its parameters from the server (#wx-config); WeChat's JS-SDK is loaded only in real
   WeChat. The consent itself is recorded by the server when WeChat pushes subscribe_msg_popup_event:
   this script only tells the reporter what happened. */
(function () {
  "use strict";
  var section = document.getElementById("notify");
  var tag = document.getElementById("subscribe-btn");
  var result = document.getElementById("subscribe-result");
  if (!section || !tag) return;

  function say(text) {
    if (!result) return;
    result.textContent = text;
    result.hidden = false;
  }

  function accepted(detail) {
    // detail.subscribeDetails: a JSON string {"<template id>": "{\"status\":\"accept\"}", ...}
    var details = {};
    try {
      details = JSON.parse((detail && detail.subscribeDetails) || "{}");
    } catch (e) {
      return false;
    }
    var found = false;
    Object.keys(details).forEach(function (key) {
      var value = details[key];
      try {
        value = typeof value === "string" ? JSON.parse(value) : value;
      } catch (e) {
        value = {};
      }
      if (value && (value.status === "accept" || value.status === "acceptWithAudio")) found = true;
    });
    return found;
  }

  tag.addEventListener("success", function (event) {
    if (accepted(event.detail)) {
      tag.hidden = true;
      say("已开启办理进度通知");
    } else {
      say("您没有开启办理进度通知，需要时可再次点击开启。");
    }
  });
  tag.addEventListener("error", function () {
    say("暂时无法开启办理进度通知，请稍后再试。");
  });

  var holder = document.getElementById("wx-config");
  if (!holder || typeof window.wx === "undefined") return; // simulator or no ticket: nothing to configure
  var config;
  try {
    config = JSON.parse(holder.textContent);
  } catch (e) {
    return;
  }
  window.wx.error(function () {
    tag.hidden = true;
    say("暂时无法开启办理进度通知，请稍后刷新页面再试。");
  });
  window.wx.config(config);
})();
