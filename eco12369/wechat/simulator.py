"""A small stand-in for WeChat's servers, for development, the demo and the tests.

It speaks the parts of WeChat's API the platform uses (access token, customer-service messages,
subscription notifications, menu, media download, web OAuth) and can play a reporter: it sends signed
(and, in safe mode, encrypted) XML to the platform's callback, exactly as WeChat would, and shows the
conversation, including the messages the platform sends back, on a small Chinese web page.

It does not depend on Django: ``manage.py wechat_simulator`` starts it with the project's settings, the
tests start it in a thread (``tests/wechat_fixtures.py``).
"""

from __future__ import annotations

import base64
import io
import json
import secrets
import socketserver
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import requests
import xmltodict
from PIL import Image
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from .simulator_page import render_page

DEFAULT_OPENID = "oSIM-demo-reporter-0001"
DEMO_OPENIDS = [DEFAULT_OPENID, "oSIM-demo-reporter-0002", "oSIM-demo-reporter-0003"]
ACCOUNT_ID = "gh_eco12369sim"
MAX_BODY = 12 * 1024 * 1024
TEXT_MAX_BYTES = 2048  # WeChat refuses longer text content: errcode 45002 "content size out of limit"

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def video_thumbnail() -> bytes:
    """The first frame WeChat serves for a video's ``ThumbMediaId``: a small JPEG (a grey frame here)."""
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "#5a6b5d").save(out, format="JPEG", quality=80)
    return out.getvalue()


@dataclass
class SimulatorConfig:
    app_id: str
    app_secret: str
    token: str
    encoding_aes_key: str
    callback_url: str = "http://127.0.0.1:8000/wechat/callback/"
    mode: str = "safe"  # safe (AES), compat (plain fields + AES), plain
    public_url: str = "http://127.0.0.1:8001/"
    subscribe_template_id: str = "sim-case-progress"
    # WeChat gives the server 5 seconds. Tests that run Huey tasks inline (in the request) allow more.
    callback_timeout: float = 5.0


@dataclass
class Received:
    """One message the platform sent to a reporter through the API."""

    kind: str  # custom | subscribe
    openid: str
    text: str
    at: float
    payload: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "openid": self.openid,
            "text": self.text,
            "at": self.at,
            "payload": self.payload,
        }


class SimulatorState:
    """Everything the simulator remembers, guarded by one lock (the server runs a thread per request)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tokens: dict[str, float] = {}
        self.jsapi_tickets: dict[str, float] = {}
        self.codes: dict[str, str] = {}
        self.oauth_tokens: dict[str, str] = {}
        self.received: list[Received] = []
        self.media: dict[str, tuple[str, bytes]] = {}
        self.menu: dict[str, Any] | None = None
        self.conversation: dict[str, list[dict[str, Any]]] = {}
        self.fail_next: list[int] = []
        self.hold = False
        self.hold_after: int | None = None
        self.held = 0
        self.release = threading.Event()
        self.requests: list[dict[str, Any]] = []
        self._msg_id = int(time.time()) * 1000

    def next_msg_id(self) -> int:
        with self.lock:
            self._msg_id += 1
            return self._msg_id


# ------------------------------------------------------------------------------------------ wire format
def signature(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return str(signer.signature)


def message_xml(*, openid: str, msg_type: str, fields: dict[str, Any], create_time: int | None = None) -> str:
    """The XML WeChat pushes to the account's server for one user message or event."""
    body: dict[str, Any] = {
        "ToUserName": ACCOUNT_ID,
        "FromUserName": openid,
        "CreateTime": str(create_time or int(time.time())),
        "MsgType": msg_type,
    }
    body.update(fields)
    return str(xmltodict.unparse({"xml": body}, full_document=False))


def sign_request(
    *,
    config: SimulatorConfig,
    xml: str,
    mode: str | None = None,
    timestamp: str | None = None,
    nonce: str | None = None,
    openid: str = "",
) -> tuple[dict[str, str], str]:
    """Query parameters and body of a callback POST, as WeChat sends them in ``mode``."""
    mode = mode or config.mode
    timestamp = timestamp or str(int(time.time()))
    nonce = nonce or secrets.token_hex(8)
    params = {"signature": signature(config.token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
    if openid:
        params["openid"] = openid
    if mode == "plain":
        return params, xml
    crypto = WeChatCrypto(config.token, config.encoding_aes_key, config.app_id)
    envelope = xmltodict.parse(crypto.encrypt_message(xml, nonce, timestamp))["xml"]
    params["encrypt_type"] = "aes"
    params["msg_signature"] = envelope["MsgSignature"]
    inner = xmltodict.parse(xml)["xml"]
    if mode == "compat":
        inner["Encrypt"] = envelope["Encrypt"]
        return params, str(xmltodict.unparse({"xml": inner}, full_document=False))
    return params, str(
        xmltodict.unparse(
            {"xml": {"ToUserName": inner["ToUserName"], "Encrypt": envelope["Encrypt"]}}, full_document=False
        )
    )


def read_reply(*, config: SimulatorConfig, body: str, mode: str | None = None) -> str:
    """The text of the platform's passive reply ('' for an empty or ``success`` answer)."""
    mode = mode or config.mode
    body = body.strip()
    if not body or body == "success":
        return ""
    doc = xmltodict.parse(body)["xml"]
    if "Encrypt" in doc:
        crypto = WeChatCrypto(config.token, config.encoding_aes_key, config.app_id)
        plain = crypto.decrypt_message(body, doc["MsgSignature"], doc["TimeStamp"], doc["Nonce"])
        doc = xmltodict.parse(plain)["xml"]
    return str(doc.get("Content") or "")


# --------------------------------------------------------------------------------------- the server app
class Simulator:
    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.state = SimulatorState()

    @property
    def url(self) -> str:
        """Where the simulator is reachable (``http://127.0.0.1:8001/``); API and OAuth base URL."""
        return self.config.public_url

    # ---- programmatic reporter (used by the web page, the demo and tests)
    def send_to_platform(
        self, *, openid: str, msg_type: str, fields: dict[str, Any], mode: str | None = None, shown: str = ""
    ) -> dict[str, Any]:
        """Push one message or event to the platform's callback, as WeChat would; return its reply."""
        xml = message_xml(openid=openid, msg_type=msg_type, fields=fields)
        params, body = sign_request(config=self.config, xml=xml, mode=mode, openid=openid)
        self._log(openid, "user", shown or fields.get("Content") or msg_type)
        try:
            res = requests.post(
                self.config.callback_url,
                params=params,
                data=body.encode("utf-8"),
                headers={"Content-Type": "text/xml; charset=utf-8"},
                timeout=self.config.callback_timeout,
            )
        except requests.RequestException as exc:
            self._log(openid, "error", f"无法连接平台回调地址：{exc.__class__.__name__}")
            return {"ok": False, "status": 0, "reply": ""}
        if res.status_code != 200:
            self._log(openid, "error", f"平台返回 HTTP {res.status_code}：{res.text[:200]}")
            return {"ok": False, "status": res.status_code, "reply": ""}
        reply = read_reply(config=self.config, body=res.text, mode=mode)
        if reply:
            self._log(openid, "reply", reply)
        return {"ok": True, "status": res.status_code, "reply": reply}

    def send_text(self, openid: str, content: str) -> dict[str, Any]:
        return self.send_to_platform(
            openid=openid,
            msg_type="text",
            fields={"Content": content, "MsgId": str(self.state.next_msg_id())},
        )

    def send_image(self, openid: str, data: bytes, content_type: str = "image/png") -> dict[str, Any]:
        media_id = self.add_media(data, content_type)
        pic_url = f"{self.config.public_url.rstrip('/')}/_sim/media/{media_id}"
        return self.send_to_platform(
            openid=openid,
            msg_type="image",
            fields={"PicUrl": pic_url, "MediaId": media_id, "MsgId": str(self.state.next_msg_id())},
            shown="[图片]",
        )

    def send_voice(
        self, openid: str, data: bytes, voice_format: str = "amr", recognition: str | None = None
    ) -> dict[str, Any]:
        """A voice message as WeChat pushes it: MediaId and Format, and Recognition when the account has
        speech recognition switched on (an empty Recognition when WeChat recognised nothing)."""
        media_id = self.add_media(data, f"audio/{voice_format}")
        fields = {"MediaId": media_id, "Format": voice_format, "MsgId": str(self.state.next_msg_id())}
        if recognition is not None:
            fields["Recognition"] = recognition
        return self.send_to_platform(openid=openid, msg_type="voice", fields=fields, shown="[语音]")

    def send_video(self, openid: str, data: bytes, short: bool = False) -> dict[str, Any]:
        """A video (or short video) as WeChat pushes it: MediaId and the ThumbMediaId of its first frame."""
        media_id = self.add_media(data, "video/mp4")
        thumb_id = self.add_media(video_thumbnail(), "image/jpeg")
        return self.send_to_platform(
            openid=openid,
            msg_type="shortvideo" if short else "video",
            fields={"MediaId": media_id, "ThumbMediaId": thumb_id, "MsgId": str(self.state.next_msg_id())},
            shown="[小视频]" if short else "[视频]",
        )

    def send_location(self, openid: str, lat: float, lng: float, label: str) -> dict[str, Any]:
        return self.send_to_platform(
            openid=openid,
            msg_type="location",
            fields={
                "Location_X": f"{lat:.6f}",
                "Location_Y": f"{lng:.6f}",
                "Scale": "15",
                "Label": label,
                "MsgId": str(self.state.next_msg_id()),
            },
            shown=f"[位置] {label}",
        )

    def send_event(self, openid: str, event: str, key: str = "", shown: str = "") -> dict[str, Any]:
        fields: dict[str, Any] = {"Event": event}
        if key:
            fields["EventKey"] = key
        return self.send_to_platform(
            openid=openid, msg_type="event", fields=fields, shown=shown or f"[{event}]"
        )

    def send_consent(self, openid: str, accept: bool = True) -> dict[str, Any]:
        """The reporter answers the subscription-notice prompt (订阅通知授权)."""
        item = {
            "TemplateId": self.config.subscribe_template_id,
            "SubscribeStatusString": "accept" if accept else "reject",
            "PopupScene": "2",
        }
        return self.send_to_platform(
            openid=openid,
            msg_type="event",
            fields={"Event": "subscribe_msg_popup_event", "SubscribeMsgPopupEvent": {"List": item}},
            shown="[同意接收办理进度通知]" if accept else "[拒绝接收办理进度通知]",
        )

    def add_media(self, data: bytes, content_type: str) -> str:
        media_id = "SIMMEDIA_" + secrets.token_urlsafe(18)
        with self.state.lock:
            self.state.media[media_id] = (content_type, data)
        return media_id

    def received(self, openid: str | None = None) -> list[Received]:
        with self.state.lock:
            return [r for r in self.state.received if openid is None or r.openid == openid]

    def _log(self, openid: str, who: str, text: str) -> None:
        with self.state.lock:
            self.state.conversation.setdefault(openid, []).append(
                {"who": who, "text": text, "at": time.time()}
            )

    # ---- WSGI
    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "/")
        query = {
            k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True).items()
        }
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY:
            return self._json(
                start_response, {"errcode": 40005, "errmsg": "body too large"}, "413 Payload Too Large"
            )
        body = environ["wsgi.input"].read(length) if length else b""
        handler = self._route(method, path)
        if handler is None:
            return self._json(
                start_response, {"errcode": 404, "errmsg": f"no such endpoint: {path}"}, "404 Not Found"
            )
        with self.state.lock:
            self.state.requests.append({"method": method, "path": path, "at": time.time()})
        return handler(environ, start_response, query, body)

    def _route(self, method: str, path: str) -> Callable[..., Iterable[bytes]] | None:
        if path.startswith("/_sim/media/"):
            return self._sim_media
        routes: dict[tuple[str, str], Callable[..., Iterable[bytes]]] = {
            ("GET", "/cgi-bin/token"): self._token,
            ("GET", "/cgi-bin/ticket/getticket"): self._getticket,
            ("POST", "/cgi-bin/message/custom/send"): self._custom_send,
            ("POST", "/cgi-bin/message/subscribe/bizsend"): self._bizsend,
            ("POST", "/cgi-bin/menu/create"): self._menu_create,
            ("GET", "/cgi-bin/menu/get"): self._menu_get,
            ("GET", "/cgi-bin/media/get"): self._media_get,
            ("GET", "/connect/oauth2/authorize"): self._authorize,
            ("GET", "/oauth2/authorize"): self._authorize,
            ("GET", "/sns/oauth2/access_token"): self._oauth_token,
            ("GET", "/sns/oauth2/refresh_token"): self._oauth_refresh,
            ("GET", "/sns/userinfo"): self._userinfo,
            ("GET", "/sns/auth"): self._sns_auth,
            ("GET", "/_sim/received"): self._sim_received,
            ("GET", "/_sim/status"): self._sim_status,
            ("POST", "/_sim/control"): self._sim_control,
            ("POST", "/_sim/reset"): self._sim_reset,
            ("GET", "/_sim/conversation"): self._sim_conversation,
            ("POST", "/_sim/send"): self._sim_send,
            ("GET", "/"): self._page,
            ("GET", "/favicon.ico"): self._no_content,
        }
        return routes.get((method, path))

    # ---- helpers
    @staticmethod
    def _json(start_response: StartResponse, data: dict[str, Any], status: str = "200 OK") -> list[bytes]:
        payload = json.dumps(data, ensure_ascii=False).encode("utf-8")
        start_response(
            status,
            [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(payload)))],
        )
        return [payload]

    @staticmethod
    def _html(start_response: StartResponse, text: str, status: str = "200 OK") -> list[bytes]:
        payload = text.encode("utf-8")
        start_response(
            status, [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(payload)))]
        )
        return [payload]

    def _check_token(self, query: dict[str, str]) -> dict[str, Any] | None:
        token = query.get("access_token", "")
        with self.state.lock:
            expires = self.state.tokens.get(token)
        if expires is None:
            return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}
        if expires < time.time():
            return {"errcode": 42001, "errmsg": "access_token expired"}
        return None

    def _injected_error(self) -> dict[str, Any] | None:
        with self.state.lock:
            if self.state.fail_next:
                code = self.state.fail_next.pop(0)
                return {"errcode": code, "errmsg": "simulated failure"}
        return None

    def _wait_if_held(self) -> bool:
        """While held, API sends block before WeChat 'receives' them; released as dropped they are lost
        in the network (nothing recorded), as when a worker dies with its request in flight."""
        with self.state.lock:
            if self.state.hold_after is not None and len(self.state.received) >= self.state.hold_after:
                self.state.hold = True
            if not self.state.hold:
                return True
            self.state.held += 1
            release = self.state.release
        release.wait(timeout=120)
        with self.state.lock:
            self.state.held -= 1
            return not getattr(release, "drop", False)

    def _refuse_send(self, sr: StartResponse, q: dict[str, str]) -> list[bytes] | None:
        """What every message-sending API checks first, in order: the access token, the network (a held send
        waits; one released as dropped is lost) and an injected failure. The response when one refuses."""
        error = self._check_token(q)
        if error:
            return self._json(sr, error)
        if not self._wait_if_held():
            return self._json(
                sr,
                {"errcode": -1, "errmsg": "system error (simulated network loss)"},
                "503 Service Unavailable",
            )
        error = self._injected_error()
        if error:
            return self._json(sr, error)
        return None

    def _record_sent(self, rec: Received, *, who: str, **extra: Any) -> None:
        """WeChat has received ``rec``: kept for the tests and shown in the reporter's conversation."""
        with self.state.lock:
            self.state.received.append(rec)
            self.state.conversation.setdefault(rec.openid, []).append(
                {"who": who, "text": rec.text, "at": rec.at, **extra}
            )

    # ---- API endpoints
    def _token(
        self, environ: dict[str, Any], sr: StartResponse, q: dict[str, str], body: bytes
    ) -> list[bytes]:
        if q.get("appid") != self.config.app_id:
            return self._json(sr, {"errcode": 40013, "errmsg": "invalid appid"})
        if q.get("secret") != self.config.app_secret:
            return self._json(sr, {"errcode": 40125, "errmsg": "invalid appsecret"})
        token = "SIMTOKEN_" + secrets.token_urlsafe(24)
        with self.state.lock:
            self.state.tokens[token] = time.time() + 7200
        return self._json(sr, {"access_token": token, "expires_in": 7200})

    def _getticket(
        self, environ: dict[str, Any], sr: StartResponse, q: dict[str, str], body: bytes
    ) -> list[bytes]:
        """The JS-SDK's jsapi_ticket (JS-SDK 附录1), valid 7200 s like the access token."""
        error = self._check_token(q)
        if error:
            return self._json(sr, error)
        if q.get("type") != "jsapi":
            return self._json(sr, {"errcode": 40097, "errmsg": "invalid args"})
        ticket = "SIMTICKET_" + secrets.token_urlsafe(24)
        with self.state.lock:
            self.state.jsapi_tickets[ticket] = time.time() + 7200
        return self._json(sr, {"errcode": 0, "errmsg": "ok", "ticket": ticket, "expires_in": 7200})

    def _custom_send(
        self, environ: dict[str, Any], sr: StartResponse, q: dict[str, str], body: bytes
    ) -> list[bytes]:
        refused = self._refuse_send(sr, q)
        if refused is not None:
            return refused
        try:
            data = json.loads(body.decode("utf-8"))
            openid = data["touser"]
            msgtype = data["msgtype"]
            text = (
                data["text"]["content"]
                if msgtype == "text"
                else json.dumps(data.get(msgtype), ensure_ascii=False)
            )
        except (ValueError, KeyError, TypeError):
            return self._json(sr, {"errcode": 44002, "errmsg": "empty post data or invalid json"})
        if msgtype == "text" and len(str(text).encode("utf-8")) > TEXT_MAX_BYTES:
            return self._json(sr, {"errcode": 45002, "errmsg": "content size out of limit"})
        self._record_sent(
            Received(kind="custom", openid=openid, text=text, at=time.time(), payload=data), who="custom"
        )
        return self._json(sr, {"errcode": 0, "errmsg": "ok"})

    def _bizsend(
        self, environ: dict[str, Any], sr: StartResponse, q: dict[str, str], body: bytes
    ) -> list[bytes]:
        refused = self._refuse_send(sr, q)
        if refused is not None:
            return refused
        try:
            data = json.loads(body.decode("utf-8"))
            openid = data["touser"]
            fields = {k: v["value"] for k, v in data.get("data", {}).items()}
        except (ValueError, KeyError, TypeError):
            return self._json(sr, {"errcode": 47001, "errmsg": "data format error"})
        text = "；".join(str(v) for v in fields.values())
        self._record_sent(
            Received(kind="subscribe", openid=openid, text=text, at=time.time(), payload=data),
            who="notify",
            page=data.get("page", ""),
        )
        return self._json(sr, {"errcode": 0, "errmsg": "ok"})

    def _menu_create(
        self, environ: dict[str, Any], sr: StartResponse, q: dict[str, str], body: bytes
    ) -> list[bytes]:
        error = self._check_token(q)
        if error:
            return self._json(sr, error)
        try:
            menu = json.loads(body.decode("utf-8"))
            buttons = menu["button"]
            assert isinstance(buttons, list) and 1 <= len(buttons) <= 3
        except (ValueError, KeyError, AssertionError):
            return self._json(sr, {"errcode": 40016, "errmsg": "invalid button size"})
        with self.state.lock:
            self.state.menu = menu
        return self._json(sr, {"errcode": 0, "errmsg": "ok"})

    def _menu_get(
        self, environ: dict[str, Any], sr: StartResponse, q: dict[str, str], body: bytes
    ) -> list[bytes]:
        error = self._check_token(q)
        if error:
            return self._json(sr, error)
        with self.state.lock:
            menu = self.state.menu
        if menu is None:
            return self._json(sr, {"errcode": 46003, "errmsg": "menu no exist"})
        return self._json(sr, {"menu": menu})

    def _media_bytes(self, sr: StartResponse, media_id: str) -> list[bytes]:
        with self.state.lock:
            item = self.state.media.get(media_id)
        if item is None:
            return self._json(sr, {"errcode": 40007, "errmsg": "invalid media_id"})
        content_type, data = item
        ext = {
            "image/png": "png",
            "image/gif": "gif",
            "audio/amr": "amr",
            "audio/speex": "speex",
            "audio/mp3": "mp3",
            "video/mp4": "mp4",
        }.get(content_type, "jpg")
        sr(
            "200 OK",
            [
                ("Content-Type", content_type),
                ("Content-Length", str(len(data))),
                ("Content-disposition", f'attachment; filename="{media_id}.{ext}"'),
            ],
        )
        return [data]

    def _media_get(
        self, environ: dict[str, Any], sr: StartResponse, q: dict[str, str], body: bytes
    ) -> list[bytes]:
        error = self._check_token(q)
        if error:
            return self._json(sr, error)
        return self._media_bytes(sr, q.get("media_id", ""))

    def _sim_media(
        self, environ: dict[str, Any], sr: StartResponse, q: dict[str, str], body: bytes
    ) -> list[bytes]:
        return self._media_bytes(sr, environ.get("PATH_INFO", "").rsplit("/", 1)[-1])

    # ---- web OAuth (网页授权)
    def _authorize(
        self, environ: dict[str, Any], sr: StartResponse, q: dict[str, str], body: bytes
    ) -> list[bytes]:
        redirect_uri = q.get("redirect_uri", "")
        if q.get("appid") != self.config.app_id or not redirect_uri.startswith(("http://", "https://")):
            return self._html(
                sr, "<h1>授权参数错误</h1><p>appid 或 redirect_uri 无效。</p>", "400 Bad Request"
            )
        openid = q.get("openid") or _cookie(environ, "sim_openid") or DEFAULT_OPENID
        code = "SIMCODE_" + secrets.token_urlsafe(16)
        with self.state.lock:
            self.state.codes[code] = openid
        parts = urlsplit(redirect_uri)
        extra = urlencode({"code": code, "state": q.get("state", "")})
        location = urlunsplit(parts._replace(query=f"{parts.query}&{extra}" if parts.query else extra))
        sr("302 Found", [("Location", location), ("Content-Length", "0")])
        return [b""]

    def _oauth_token(
        self, environ: dict[str, Any], sr: StartResponse, q: dict[str, str], body: bytes
    ) -> list[bytes]:
        if q.get("appid") != self.config.app_id or q.get("secret") != self.config.app_secret:
            return self._json(sr, {"errcode": 40125, "errmsg": "invalid appid or secret"})
        with self.state.lock:
            openid = self.state.codes.pop(q.get("code", ""), None)  # a code is good once
        if openid is None:
            return self._json(sr, {"errcode": 40029, "errmsg": "invalid code"})
        refresh = "SIMREFRESH_" + secrets.token_urlsafe(16)
        with self.state.lock:
            self.state.oauth_tokens[refresh] = openid
        return self._oauth_grant(sr, openid, refresh)

    def _oauth_refresh(
        self, environ: dict[str, Any], sr: StartResponse, q: dict[str, str], body: bytes
    ) -> list[bytes]:
        with self.state.lock:
            openid = self.state.oauth_tokens.get(q.get("refresh_token", ""))
        if openid is None:
            return self._json(sr, {"errcode": 40030, "errmsg": "invalid refresh_token"})
        return self._oauth_grant(sr, openid, q["refresh_token"])

    def _oauth_grant(self, sr: StartResponse, openid: str, refresh: str) -> list[bytes]:
        """A new web access token for ``openid``, answered with its refresh token."""
        token = "SIMOAUTH_" + secrets.token_urlsafe(16)
        with self.state.lock:
            self.state.oauth_tokens[token] = openid
        return self._json(
            sr,
            {
                "access_token": token,
                "expires_in": 7200,
                "refresh_token": refresh,
                "openid": openid,
                "scope": "snsapi_base",
            },
        )

    def _userinfo(
        self, environ: dict[str, Any], sr: StartResponse, q: dict[str, str], body: bytes
    ) -> list[bytes]:
        with self.state.lock:
            openid = self.state.oauth_tokens.get(q.get("access_token", ""))
        if openid is None or openid != q.get("openid"):
            return self._json(sr, {"errcode": 40001, "errmsg": "invalid credential"})
        return self._json(sr, {"openid": openid, "nickname": f"模拟用户{openid[-4:]}", "headimgurl": ""})

    def _sns_auth(
        self, environ: dict[str, Any], sr: StartResponse, q: dict[str, str], body: bytes
    ) -> list[bytes]:
        with self.state.lock:
            openid = self.state.oauth_tokens.get(q.get("access_token", ""))
        if openid is None or openid != q.get("openid"):
            return self._json(sr, {"errcode": 40003, "errmsg": "invalid openid"})
        return self._json(sr, {"errcode": 0, "errmsg": "ok"})

    # ---- test and demo control
    def _sim_received(
        self, environ: dict[str, Any], sr: StartResponse, q: dict[str, str], body: bytes
    ) -> list[bytes]:
        openid = q.get("openid") or None
        items = self.received(openid)
        counts: dict[str, int] = {}
        for r in self.received():
            counts[r.openid] = counts.get(r.openid, 0) + 1
        return self._json(
            sr, {"messages": [r.as_dict() for r in items], "counts": counts, "total": len(items)}
        )

    def _sim_status(
        self, environ: dict[str, Any], sr: StartResponse, q: dict[str, str], body: bytes
    ) -> list[bytes]:
        with self.state.lock:
            data = {
                "received": len(self.state.received),
                "held": self.state.held,
                "hold": self.state.hold,
                "menu": self.state.menu,
                "requests": len(self.state.requests),
            }
        return self._json(sr, data)

    def _sim_control(
        self, environ: dict[str, Any], sr: StartResponse, q: dict[str, str], body: bytes
    ) -> list[bytes]:
        """``{"fail_next": [45015]}`` (the next sends fail with these codes), ``{"hold": true}`` (sends block
        before WeChat 'receives' them), ``{"hold_after": 4}`` (hold once 4 messages arrived),
        ``{"release": "drop" | "deliver"}`` (end the hold; held sends are lost or go through)."""
        try:
            data = json.loads(body.decode("utf-8") or "{}")
        except ValueError:
            return self._json(sr, {"error": "invalid json"}, "400 Bad Request")
        with self.state.lock:
            if "fail_next" in data:
                self.state.fail_next = [int(c) for c in data["fail_next"]]
            if data.get("hold") or data.get("hold_after") is not None:
                self.state.hold = bool(data.get("hold"))
                self.state.hold_after = None if data.get("hold_after") is None else int(data["hold_after"])
                self.state.release = threading.Event()
            if "release" in data:
                event = self.state.release
                event.drop = data["release"] == "drop"  # type: ignore[attr-defined]
                self.state.hold = False
                self.state.hold_after = None
                event.set()
        return self._json(sr, {"ok": True})

    def _sim_reset(
        self, environ: dict[str, Any], sr: StartResponse, q: dict[str, str], body: bytes
    ) -> list[bytes]:
        with self.state.lock:
            self.state.received.clear()
            self.state.conversation.clear()
            self.state.fail_next.clear()
            self.state.requests.clear()
        return self._json(sr, {"ok": True})

    def _sim_conversation(
        self, environ: dict[str, Any], sr: StartResponse, q: dict[str, str], body: bytes
    ) -> list[bytes]:
        openid = q.get("openid") or DEFAULT_OPENID
        with self.state.lock:
            entries = list(self.state.conversation.get(openid, []))
            menu = self.state.menu
        return self._json(sr, {"openid": openid, "entries": entries, "menu": menu})

    def _sim_send(
        self, environ: dict[str, Any], sr: StartResponse, q: dict[str, str], body: bytes
    ) -> list[bytes]:
        """The reporter page's actions: ``{"openid", "type": text|image|voice|video|shortvideo|location|event,
        ...}``; media as base64 in ``data`` (voice also ``format`` and ``recognition``)."""
        try:
            data = json.loads(body.decode("utf-8"))
            openid = str(data.get("openid") or DEFAULT_OPENID)[:64]
            kind = data["type"]
            if kind == "text":
                result = self.send_text(openid, str(data["content"])[:2000])
            elif kind == "image":
                raw = base64.b64decode(str(data["data"]).split(",", 1)[-1])
                result = self.send_image(openid, raw, str(data.get("content_type") or "image/jpeg"))
            elif kind == "voice":
                raw = base64.b64decode(str(data["data"]).split(",", 1)[-1])
                recognition = data.get("recognition")
                result = self.send_voice(
                    openid,
                    raw,
                    str(data.get("format") or "amr")[:10],
                    None if recognition is None else str(recognition)[:2000],
                )
            elif kind in ("video", "shortvideo"):
                raw = base64.b64decode(str(data["data"]).split(",", 1)[-1])
                result = self.send_video(openid, raw, short=kind == "shortvideo")
            elif kind == "location":
                result = self.send_location(
                    openid, float(data["lat"]), float(data["lng"]), str(data.get("label", ""))
                )
            elif kind == "consent":
                result = self.send_consent(openid, bool(data.get("accept", True)))
            elif kind == "event":
                result = self.send_event(
                    openid, str(data["event"]), str(data.get("key", "")), str(data.get("shown", ""))
                )
            else:
                raise ValueError(kind)
        except (ValueError, KeyError, TypeError) as exc:
            return self._json(sr, {"ok": False, "error": f"参数错误：{exc}"}, "400 Bad Request")
        return self._json(sr, result)

    def _no_content(
        self, environ: dict[str, Any], sr: StartResponse, q: dict[str, str], body: bytes
    ) -> list[bytes]:
        sr("204 No Content", [])
        return [b""]

    def _page(
        self, environ: dict[str, Any], sr: StartResponse, q: dict[str, str], body: bytes
    ) -> list[bytes]:
        return self._html(sr, render_page(config=self.config, openids=DEMO_OPENIDS))


def _cookie(environ: dict[str, Any], name: str) -> str:
    for part in environ.get("HTTP_COOKIE", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return ""


# ------------------------------------------------------------------------------------------- serving
class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve(simulator: Simulator, host: str = "127.0.0.1", port: int = 8001, quiet: bool = True) -> WSGIServer:
    """Bind a threaded WSGI server (port 0: a free port); call ``serve_forever()`` on it."""
    handler = _QuietHandler if quiet else WSGIRequestHandler
    return make_server(host, port, simulator, server_class=_ThreadingWSGIServer, handler_class=handler)


def serve_in_thread(simulator: Simulator, host: str = "127.0.0.1", port: int = 0) -> tuple[WSGIServer, str]:
    server = serve(simulator, host, port)
    thread = threading.Thread(target=server.serve_forever, name="wechat-simulator", daemon=True)
    thread.start()
    return server, f"http://{host}:{server.server_port}/"
