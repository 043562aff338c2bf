"""The simulator's reporter page: a phone-shaped WeChat chat with the official account.

Plain HTML and a little JavaScript, no external assets. All text is put into the page with
``textContent`` (never as HTML), so whatever the platform or the reporter writes is shown as text.
"""

from __future__ import annotations

import json
from typing import Any

LOCATIONS = [
    {"label": "天津市和平区南京路（和平区）", "lat": 39.1172, "lng": 117.2150},
    {"label": "天津市滨海新区临港工业区（滨海新区）", "lat": 38.9800, "lng": 117.7600},
    {"label": "天津市西青区张家窝镇工业园（西青区）", "lat": 39.1400, "lng": 117.0100},
    {"label": "天津市武清区汊沽港镇（武清区）", "lat": 39.3841, "lng": 117.0444},
    {"label": "北京市朝阳区（天津市以外）", "lat": 39.9219, "lng": 116.4436},
]

PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>微信模拟器 · 12369环保举报</title>
<style>
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.5 "PingFang SC", "Microsoft YaHei", "WenQuanYi Micro Hei", sans-serif;
         background: #e9e9e9; color: #111; }
  .wrap { max-width: 980px; margin: 0 auto; padding: 16px; display: flex; gap: 20px; flex-wrap: wrap; }
  .phone { width: 390px; height: 760px; background: #ededed; border: 10px solid #222; border-radius: 32px;
           display: flex; flex-direction: column; overflow: hidden; }
  .top { background: #ededed; border-bottom: 1px solid #d6d6d6; padding: 10px 14px; text-align: center;
         font-weight: 600; }
  .top small { display: block; font-weight: normal; color: #888; font-size: 12px; }
  #chat { flex: 1; overflow-y: auto; padding: 12px; }
  .row { display: flex; margin: 10px 0; }
  .row.me { justify-content: flex-end; }
  .bubble { max-width: 78%; padding: 8px 11px; border-radius: 6px; white-space: pre-wrap; word-break: break-word; }
  .me .bubble { background: #95ec69; }
  .them .bubble { background: #fff; }
  .tag { display: block; font-size: 11px; color: #888; margin-bottom: 2px; }
  .card { background: #fff; border-radius: 8px; padding: 10px 12px; width: 82%; }
  .card h4 { margin: 0 0 6px; font-size: 14px; }
  .card a { color: #576b95; text-decoration: none; font-size: 13px; }
  .sys { text-align: center; color: #999; font-size: 12px; margin: 8px 0; }
  .sys.err { color: #c0392b; }
  .bar { display: flex; gap: 6px; padding: 8px; background: #f7f7f7; border-top: 1px solid #d6d6d6; }
  .bar input[type=text] { flex: 1; padding: 8px; border: 1px solid #ddd; border-radius: 4px; font-size: 15px; }
  button { padding: 7px 10px; border: 1px solid #ccc; background: #fff; border-radius: 4px; cursor: pointer;
           font-size: 14px; }
  button.primary { background: #07c160; border-color: #07c160; color: #fff; }
  .menu { display: flex; border-top: 1px solid #d6d6d6; background: #fafafa; min-height: 44px; }
  .menu button { flex: 1; border: 0; border-right: 1px solid #e0e0e0; border-radius: 0; background: transparent; }
  .menu .hint { padding: 10px; color: #999; font-size: 12px; }
  .side { flex: 1; min-width: 280px; background: #fff; border-radius: 8px; padding: 16px 18px; }
  .side h2 { margin-top: 0; font-size: 18px; }
  .side label { display: block; margin: 12px 0 4px; font-weight: 600; }
  .side select, .side input { width: 100%; padding: 6px; font-size: 14px; }
  .side ol { padding-left: 20px; }
  .side .actions button { margin: 4px 4px 0 0; }
  code { background: #f3f3f3; padding: 1px 4px; border-radius: 3px; }
</style>
</head>
<body>
<div class="wrap">
  <div class="phone" aria-label="模拟手机微信">
    <div class="top">12369环保举报<small id="who"></small></div>
    <div id="chat" aria-live="polite"></div>
    <div class="bar">
      <input type="text" id="text" placeholder="输入举报内容，或回复“提交”“查询 编号”" aria-label="消息">
      <button class="primary" id="send">发送</button>
    </div>
    <div class="menu" id="menu"></div>
  </div>
  <div class="side">
    <h2>微信模拟器 · 扮演举报人</h2>
    <p>本页模拟举报人在微信里与公众号“12369环保举报”对话。消息经签名、加密后发送到平台回调地址
       <code id="cb"></code>（模式：<span id="mode"></span>），平台的回复和之后推送的客服消息、订阅通知都显示在左侧。</p>
    <label for="openid">举报人（openid）</label>
    <select id="openid"></select>
    <input type="text" id="custom-openid" placeholder="或输入其他 openid 后回车" aria-label="其他 openid">
    <label>快捷操作</label>
    <div class="actions">
      <button id="subscribe">关注公众号</button>
      <button id="submit">提交</button>
      <button id="query">查询我的举报</button>
      <button id="consent">同意接收办理进度通知</button>
    </div>
    <label for="photo">发送现场照片</label>
    <input type="file" id="photo" accept="image/*" multiple>
    <label for="media">发送语音（AMR）或视频（MP4）</label>
    <input type="file" id="media" accept=".amr,.spx,.mp3,audio/*,video/mp4">
    <label for="recognition">语音识别文字（微信开启语音识别时随语音推送，可留空）</label>
    <input type="text" id="recognition" placeholder="例如：河边那个厂又在排黑水">
    <label for="place">发送位置</label>
    <select id="place"></select>
    <div class="actions"><button id="send-place">发送位置</button></div>
    <label>演示步骤</label>
    <ol>
      <li>点“关注公众号”，收到欢迎语（受理范围）。</li>
      <li>输入举报内容（被举报单位、地点、污染情况）并发送。</li>
      <li>选择照片、发送位置，然后点“提交”：收到带编号的回执。</li>
      <li>在工作台（<code>http://127.0.0.1:8000/</code>）用演示账号受理、办理、审核该举报，
          受理通知和办理结果会作为客服消息出现在左侧。</li>
      <li>底部菜单“我的举报”打开 H5 页面（网页授权由本模拟器完成）。</li>
    </ol>
  </div>
</div>
<script>
const CONFIG = __CONFIG__;
const $ = (id) => document.getElementById(id);
let openid = localStorage.getItem("sim_openid") || CONFIG.openids[0];
let shown = -1;

function setOpenid(value) {
  openid = value;
  localStorage.setItem("sim_openid", openid);
  document.cookie = "sim_openid=" + encodeURIComponent(openid) + "; path=/; SameSite=Lax";
  $("who").textContent = "当前举报人：" + openid;
  shown = -1;
  refresh();
}

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function render(entries) {
  const chat = $("chat");
  chat.replaceChildren();
  if (!entries.length) chat.append(el("div", "sys", "还没有消息。先点“关注公众号”，或直接输入举报内容。"));
  for (const e of entries) {
    if (e.who === "user") {
      const row = el("div", "row me");
      row.append(el("div", "bubble", e.text));
      chat.append(row);
    } else if (e.who === "reply" || e.who === "custom") {
      const row = el("div", "row them");
      const b = el("div", "bubble");
      if (e.who === "custom") b.append(el("span", "tag", "客服消息"));
      b.append(document.createTextNode(e.text));
      row.append(b);
      chat.append(row);
    } else if (e.who === "notify") {
      const row = el("div", "row them");
      const card = el("div", "card");
      card.append(el("h4", null, "订阅通知 · 办理进度"));
      card.append(el("div", null, e.text));
      if (e.page) {
        const a = el("a", null, "查看详情 ›");
        a.href = e.page;
        a.target = "_blank";
        a.rel = "noopener";
        card.append(a);
      }
      row.append(card);
      chat.append(row);
    } else {
      chat.append(el("div", "sys err", e.text));
    }
  }
  chat.scrollTop = chat.scrollHeight;
}

function renderMenu(menu) {
  const bar = $("menu");
  bar.replaceChildren();
  if (!menu || !menu.button) {
    bar.append(el("div", "hint", "菜单尚未推送：在平台运行 manage.py wechat_menu"));
    return;
  }
  for (const b of menu.button) {
    const btn = el("button", null, b.name);
    btn.addEventListener("click", () => {
      if (b.type === "view") {
        document.cookie = "sim_openid=" + encodeURIComponent(openid) + "; path=/; SameSite=Lax";
        send({type: "event", event: "VIEW", key: b.url, shown: "[打开菜单] " + b.name}, false);
        window.open(b.url, "_blank", "noopener");
      } else {
        send({type: "event", event: "CLICK", key: b.key, shown: "[点击菜单] " + b.name});
      }
    });
    bar.append(btn);
  }
}

async function refresh() {
  try {
    const res = await fetch("/_sim/conversation?openid=" + encodeURIComponent(openid));
    const data = await res.json();
    if (data.entries.length !== shown) {
      shown = data.entries.length;
      render(data.entries);
    }
    renderMenuOnce(data.menu);
  } catch (e) { /* the page keeps polling */ }
}
let lastMenu = "";
function renderMenuOnce(menu) {
  const key = JSON.stringify(menu || null);
  if (key !== lastMenu) { lastMenu = key; renderMenu(menu); }
}

async function send(payload, wait = true) {
  payload.openid = openid;
  const req = fetch("/_sim/send", {method: "POST", headers: {"Content-Type": "application/json"},
                                   body: JSON.stringify(payload)});
  if (wait) { await req; }
  refresh();
}

$("send").addEventListener("click", () => {
  const text = $("text").value.trim();
  if (!text) return;
  $("text").value = "";
  send({type: "text", content: text});
});
$("text").addEventListener("keydown", (e) => { if (e.key === "Enter") $("send").click(); });
$("submit").addEventListener("click", () => send({type: "text", content: "提交"}));
$("query").addEventListener("click", () => send({type: "text", content: "查询"}));
$("subscribe").addEventListener("click", () => send({type: "event", event: "subscribe", shown: "[关注公众号]"}));
$("consent").addEventListener("click", () => send({type: "consent", shown: "[同意接收办理进度通知]"}));
$("photo").addEventListener("change", async (e) => {
  for (const file of e.target.files) {
    const data = await new Promise((resolve) => {
      const r = new FileReader();
      r.onload = () => resolve(r.result);
      r.readAsDataURL(file);
    });
    await send({type: "image", data: data, content_type: file.type || "image/jpeg"});
  }
  e.target.value = "";
});
$("media").addEventListener("change", async (e) => {
  const file = e.target.files[0];
  if (!file) return;
  const data = await new Promise((resolve) => {
    const r = new FileReader();
    r.onload = () => resolve(r.result);
    r.readAsDataURL(file);
  });
  if (file.type.startsWith("video/")) {
    await send({type: "shortvideo", data: data});
  } else {
    const ext = (file.name.split(".").pop() || "amr").toLowerCase();
    await send({type: "voice", data: data, format: ext === "spx" ? "speex" : ext, recognition: $("recognition").value});
  }
  e.target.value = "";
});
for (const [i, p] of CONFIG.locations.entries()) {
  const o = el("option", null, p.label);
  o.value = String(i);
  $("place").append(o);
}
$("send-place").addEventListener("click", () => {
  const p = CONFIG.locations[Number($("place").value)];
  send({type: "location", lat: p.lat, lng: p.lng, label: p.label.replace(/（.*）$/, "")});
});
for (const id of CONFIG.openids) {
  const o = el("option", null, id);
  o.value = id;
  $("openid").append(o);
}
if (!CONFIG.openids.includes(openid)) {
  const o = el("option", null, openid);
  o.value = openid;
  $("openid").append(o);
}
$("openid").value = openid;
$("openid").addEventListener("change", (e) => setOpenid(e.target.value));
$("custom-openid").addEventListener("keydown", (e) => {
  const v = e.target.value.trim();
  if (e.key === "Enter" && /^[A-Za-z0-9_-]{6,64}$/.test(v)) {
    const o = el("option", null, v);
    o.value = v;
    $("openid").append(o);
    $("openid").value = v;
    setOpenid(v);
  }
});
$("cb").textContent = CONFIG.callback;
$("mode").textContent = {safe: "安全模式（AES加密）", compat: "兼容模式", plain: "明文模式"}[CONFIG.mode];
setOpenid(openid);
setInterval(refresh, 1500);
</script>
</body>
</html>
"""


def render_page(*, config: Any, openids: list[str]) -> str:
    data = {"openids": openids, "callback": config.callback_url, "mode": config.mode, "locations": LOCATIONS}
    # JSON inside <script>: "<" is escaped so no value can close the script element.
    blob = json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")
    return PAGE.replace("__CONFIG__", blob)
