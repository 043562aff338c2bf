"""The official-account server URL's protocol: URL verification, signature and replay checks, the three
message modes (plain, compatible, safe/AES), safe XML parsing and the passive reply.

Everything here is checked before anything is written. The one trace a refused request leaves is its
nonce, when its ``signature`` was good: a signature seen once (a URL check, a refused POST, an access log)
is never accepted again, whatever body comes with it.
Rules (DESIGN §9): ``signature`` = SHA-1 over the sorted token, timestamp and nonce; in AES mode
``msg_signature`` = SHA-1 over the sorted token, timestamp, nonce and ciphertext; the current and the
previous EncodingAESKey are both tried so a key change loses no message.

The account's message mode (``WECHAT_MESSAGE_MODE``, the mode set in the official-account console):
``safe`` (the default) and ``compat`` accept only messages with a good ``msg_signature`` over the encrypted
body (in WeChat's compatible mode every push carries one); ``plain`` also accepts unencrypted messages,
whose body no signature covers.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from xml.parsers.expat import ExpatError

import xmltodict
from django.conf import settings
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.messages import BaseMessage
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

from eco12369.db import insert_if_absent
from eco12369.plaintext import text_clean

from . import texts
from .models import SeenNonce

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
MAX_CLOCK_SKEW_SECONDS = 300
MESSAGE_MODES = ("safe", "compat", "plain")
# Fields the platform reads besides the required four: text when present (xmltodict makes a nested or a
# repeated element a dict or a list, which is no message WeChat sends).
TEXT_FIELDS = (
    "Content",
    "Event",
    "EventKey",
    "Format",
    "Label",
    "Location_X",
    "Location_Y",
    "MediaId",
    "MsgId",
    "PicUrl",
    "Recognition",
    "ThumbMediaId",
)

_CDATA = re.compile(rb"<!\[CDATA\[.*?\]\]>", re.DOTALL)
_MARKUP_DECLARATION = re.compile(rb"<!")


class CallbackError(Exception):
    """A request the callback refuses: HTTP ``status`` and a bilingual ``message`` for the body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Envelope:
    """A verified, decrypted callback POST."""

    mode: str  # plain | compat | safe
    timestamp: str
    nonce: str
    xml: str
    fields: dict[str, Any]
    message: BaseMessage
    crypto: WeChatCrypto | None
    created_at: dt.datetime  # the message's CreateTime

    @property
    def nonce_key(self) -> str:
        return nonce_key(self.timestamp, self.nonce)


def nonce_key(timestamp: str, nonce: str) -> str:
    return f"{timestamp}:{nonce}"[:200]


def nonce_consume(timestamp: str, nonce: str) -> bool:
    """Remember a signed request's (timestamp, nonce); False when it was seen before (a replay)."""
    return insert_if_absent(SeenNonce(key=nonce_key(timestamp, nonce)))


def _conf() -> dict[str, Any]:
    return settings.WECHAT  # type: ignore[no-any-return]


def message_mode() -> str:
    """The configured message mode (safe | compat | plain); anything else counts as safe."""
    mode = str(_conf().get("MESSAGE_MODE") or "safe").strip().lower()
    return mode if mode in MESSAGE_MODES else "safe"


def _check_signature_and_time(params: Mapping[str, str]) -> tuple[str, str]:
    signature = params.get("signature", "")
    timestamp = params.get("timestamp", "")
    nonce = params.get("nonce", "")
    if not (signature and timestamp and nonce):
        raise CallbackError(403, "缺少签名参数 / missing signature parameters")
    try:
        check_signature(_conf()["TOKEN"], signature, timestamp, nonce)
    except InvalidSignatureException:
        raise CallbackError(403, "签名校验失败 / signature check failed") from None
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise CallbackError(403, "时间戳无效 / invalid timestamp") from None
    if abs(time.time() - sent_at) > MAX_CLOCK_SKEW_SECONDS:
        raise CallbackError(
            403, "请求已过期（时间戳超过5分钟） / request expired (timestamp older than 5 minutes)"
        )
    return timestamp, nonce


def verify_url(params: Mapping[str, str]) -> str:
    """GET: WeChat checks the server URL; answer with ``echostr`` if the signature is ours and new."""
    timestamp, nonce = _check_signature_and_time(params)
    if not nonce_consume(timestamp, nonce):
        raise CallbackError(403, "重复的请求（nonce 已使用） / replayed request (nonce already used)")
    echostr = params.get("echostr", "")
    if not echostr:
        raise CallbackError(400, "缺少 echostr 参数 / missing echostr")
    return echostr


def safe_xml(data: bytes | str) -> dict[str, Any]:
    """Parse WeChat's XML, refusing DOCTYPE, entity declarations and any other markup declaration before
    the parser sees them (no entity expansion, no external entities). Text inside CDATA is data."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if _MARKUP_DECLARATION.search(_CDATA.sub(b"", raw)):
        raise CallbackError(
            400, "XML 中不允许包含 DOCTYPE 或实体声明 / DOCTYPE and entity declarations are not allowed"
        )
    try:
        doc = xmltodict.parse(raw, disable_entities=True)
    except (ExpatError, ValueError) as exc:
        raise CallbackError(400, f"XML 格式错误 / malformed XML: {exc}") from None
    body = doc.get("xml") if isinstance(doc, dict) else None
    if not isinstance(body, dict):
        raise CallbackError(400, "XML 格式错误：根元素应为 <xml> / malformed XML: root element must be <xml>")
    return body


def _decrypt(
    params: Mapping[str, str], body: dict[str, Any], timestamp: str, nonce: str
) -> tuple[str, WeChatCrypto]:
    msg_signature = params.get("msg_signature", "")
    encrypted = body.get("Encrypt")
    if not msg_signature:
        raise CallbackError(403, "缺少 msg_signature / missing msg_signature")
    if not isinstance(encrypted, str) or not encrypted:
        raise CallbackError(400, "加密消息缺少 Encrypt 字段 / encrypted message without Encrypt")
    conf = _conf()
    keys = [k for k in (conf["ENCODING_AES_KEY"], conf.get("PREVIOUS_ENCODING_AES_KEY")) if k]
    for key in keys:
        crypto = WeChatCrypto(conf["TOKEN"], key, conf["APP_ID"])
        try:
            plain = crypto.decrypt_message({"Encrypt": encrypted}, msg_signature, timestamp, nonce)
        except InvalidSignatureException:
            raise CallbackError(403, "消息签名校验失败 / msg_signature check failed") from None
        except Exception as exc:  # a wrong key gives garbage (padding, app id, decoding): try the next key
            logger.debug("decryption with one EncodingAESKey failed: %s", exc.__class__.__name__)
            continue
        return str(plain), crypto
    raise CallbackError(400, "无法解密消息 / cannot decrypt the message")


def open_envelope(*, params: Mapping[str, str], body: bytes) -> Envelope:
    """POST: verify, decrypt and parse. Raises ``CallbackError`` (403/400/413); a refused request with a
    good signature has its nonce consumed and nothing else written."""
    if len(body) > MAX_BODY_BYTES:
        raise CallbackError(413, "消息体超过1 MiB / body larger than 1 MiB")
    timestamp, nonce = _check_signature_and_time(params)
    try:
        return _open_signed(params=params, body=body, timestamp=timestamp, nonce=nonce)
    except CallbackError:
        nonce_consume(timestamp, nonce)
        raise


def _create_time(value: str) -> dt.datetime:
    try:
        return dt.datetime.fromtimestamp(int(value), tz=dt.UTC)
    except (ValueError, OverflowError, OSError):
        raise CallbackError(400, "CreateTime 无效 / invalid CreateTime") from None


def _open_signed(*, params: Mapping[str, str], body: bytes, timestamp: str, nonce: str) -> Envelope:
    outer = safe_xml(body)
    crypto: WeChatCrypto | None = None
    if params.get("encrypt_type", "raw").lower() == "aes":
        xml, crypto = _decrypt(params, outer, timestamp, nonce)
        fields = safe_xml(xml)
        mode = "compat" if "MsgType" in outer else "safe"
    elif "Encrypt" in outer and "MsgType" not in outer:
        raise CallbackError(
            403, "加密消息缺少 encrypt_type/msg_signature / encrypted message without msg_signature"
        )
    elif message_mode() != "plain":
        raise CallbackError(
            403,
            "公众号为安全模式，未加密或缺少 msg_signature 的消息一律拒收 / "
            "safe mode: a message without encryption and msg_signature is refused",
        )
    else:
        xml, fields, mode = body.decode("utf-8", "replace"), outer, "plain"
    for required in ("ToUserName", "FromUserName", "CreateTime", "MsgType"):
        if not isinstance(fields.get(required), str) or not fields[required]:
            raise CallbackError(400, f"XML 缺少字段 {required} / missing field {required}")
    if not fields["CreateTime"].isdigit():
        raise CallbackError(400, "CreateTime 无效 / invalid CreateTime")
    created_at = _create_time(fields["CreateTime"])
    for name in TEXT_FIELDS:
        if fields.get(name) is not None and not isinstance(fields[name], str):
            raise CallbackError(400, f"XML 字段 {name} 应为文本 / field {name} must be text")
    try:
        message = parse_message(xml)
    except Exception as exc:
        raise CallbackError(
            400, f"无法解析消息 / cannot parse the message: {exc.__class__.__name__}"
        ) from None
    return Envelope(
        mode=mode,
        timestamp=timestamp,
        nonce=nonce,
        xml=xml,
        fields=fields,
        message=message,
        crypto=crypto,
        created_at=created_at,
    )


def reply_body(envelope: Envelope, text: str) -> str:
    """The passive text reply, encrypted when the request was."""
    # Text goes into a CDATA section: its only forbidden sequence is "]]>", and no XML may hold the
    # characters XML 1.0 forbids (text written before intake cleaned them, or by staff).
    content = text_clean(texts.text_fit(text)).replace("]]>", "]] >")
    xml = TextReply(message=envelope.message, content=content).render()
    if envelope.crypto is None:
        return str(xml)
    return str(envelope.crypto.encrypt_message(xml, envelope.nonce, str(int(time.time()))))
