"""A WeChat server stand-in for the callback tests, built on wechatpy's own crypto (not the simulator's code),
so the tests check the platform against the library's idea of the protocol."""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
import xmltodict
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteDatabase
from django.test import Client
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

_msg_ids = itertools.count(int(time.time()) * 1000)
ACCOUNT = "gh_test_account"


def sqlite_in_memory() -> bool:
    """Whether the tests run on SQLite's in-memory database (no concurrent writers there)."""
    database = connections[DEFAULT_DB_ALIAS]
    return isinstance(database, SQLiteDatabase) and database.is_in_memory_db()


def sign(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return str(signer.signature)


class WeChatServer:
    """Builds, signs and (in compat and safe modes) encrypts pushes exactly as WeChat does, posts them to
    ``/wechat/callback/`` with the Django test client, and reads the passive reply."""

    url = "/wechat/callback/"

    def __init__(self, client: Client, conf: dict[str, Any], mode: str = "safe") -> None:
        self.client = client
        self.conf = conf
        self.mode = mode

    def crypto(self, key: str | None = None) -> WeChatCrypto:
        return WeChatCrypto(self.conf["TOKEN"], key or self.conf["ENCODING_AES_KEY"], self.conf["APP_ID"])

    @staticmethod
    def xml(openid: str, msg_type: str, create_time: int | None = None, **fields: Any) -> str:
        body: dict[str, Any] = {
            "ToUserName": ACCOUNT,
            "FromUserName": openid,
            "CreateTime": str(create_time or int(time.time())),
            "MsgType": msg_type,
        }
        body.update({k: str(v) for k, v in fields.items()})
        return str(xmltodict.unparse({"xml": body}, full_document=False))

    def build(
        self,
        xml: str,
        *,
        mode: str | None = None,
        timestamp: str | None = None,
        nonce: str | None = None,
        key: str | None = None,
    ) -> tuple[dict[str, str], str]:
        mode = mode or self.mode
        timestamp = timestamp or str(int(time.time()))
        nonce = nonce or secrets.token_hex(8)
        params = {
            "signature": sign(self.conf["TOKEN"], timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
        }
        if mode == "plain":
            return params, xml
        envelope = xmltodict.parse(self.crypto(key).encrypt_message(xml, nonce, timestamp))["xml"]
        params.update(encrypt_type="aes", msg_signature=envelope["MsgSignature"])
        if mode == "compat":
            inner = xmltodict.parse(xml)["xml"]
            inner["Encrypt"] = envelope["Encrypt"]
            return params, str(xmltodict.unparse({"xml": inner}, full_document=False))
        outer = {"ToUserName": ACCOUNT, "Encrypt": envelope["Encrypt"]}
        return params, str(xmltodict.unparse({"xml": outer}, full_document=False))

    def post_raw(self, params: dict[str, str], body: str | bytes, client: Client | None = None) -> Any:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        data = body.encode("utf-8") if isinstance(body, str) else body
        return (client or self.client).post(f"{self.url}?{query}", data=data, content_type="text/xml")

    def push(self, xml: str, *, client: Client | None = None, **kw: Any) -> Any:
        params, body = self.build(xml, **kw)
        return self.post_raw(params, body, client=client)

    def text(self, openid: str, content: str, msg_id: int | None = None, **kw: Any) -> Any:
        return self.push(self.xml(openid, "text", Content=content, MsgId=msg_id or next(_msg_ids)), **kw)

    def image(
        self, openid: str, media_id: str, pic_url: str = "http://example.invalid/p.jpg", **kw: Any
    ) -> Any:
        return self.push(
            self.xml(openid, "image", PicUrl=pic_url, MediaId=media_id, MsgId=next(_msg_ids)), **kw
        )

    def location(self, openid: str, lat: float, lng: float, label: str, **kw: Any) -> Any:
        xml = self.xml(
            openid, "location", Location_X=lat, Location_Y=lng, Scale=15, Label=label, MsgId=next(_msg_ids)
        )
        return self.push(xml, **kw)

    def event(self, openid: str, event: str, key: str = "", **kw: Any) -> Any:
        fields: dict[str, Any] = {"Event": event, **({"EventKey": key} if key else {})}
        return self.push(self.xml(openid, "event", **fields), **kw)

    def reply(self, response: Any, key: str | None = None) -> str:
        """The text of a passive reply, decrypted with wechatpy when it is encrypted ('' for 'success')."""
        assert response.status_code == 200, (response.status_code, response.content[:300])
        body = response.content.decode("utf-8")
        if body == "success":
            return ""
        doc = xmltodict.parse(body)["xml"]
        if "Encrypt" in doc:
            plain = self.crypto(key).decrypt_message(
                body, doc["MsgSignature"], doc["TimeStamp"], doc["Nonce"]
            )
            doc = xmltodict.parse(plain)["xml"]
        assert doc["MsgType"] == "text"
        return str(doc["Content"])


@pytest.fixture(params=["safe"])
def wechat(client: Client, settings: Any, request: pytest.FixtureRequest) -> Iterator[WeChatServer]:
    """WeChat pushing in the mode the platform is configured for (``WECHAT_MESSAGE_MODE``)."""
    settings.WECHAT = {**settings.WECHAT, "MESSAGE_MODE": request.param}
    yield WeChatServer(client, settings.WECHAT, mode=request.param)


@pytest.fixture
def media_root(settings: Any, tmp_path: Any) -> Any:
    settings.MEDIA_ROOT = tmp_path / "uploads"
    return settings.MEDIA_ROOT


@pytest.fixture(scope="session")
def shared_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A migrated database (SQLite file, or a new PostgreSQL database) shared with real platform processes."""
    from .platform_process import SharedPlatform

    platform = SharedPlatform(tmp_path_factory.mktemp("platform"))
    try:
        platform.setup()
        yield platform
    finally:
        platform.close()
