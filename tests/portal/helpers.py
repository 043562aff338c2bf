"""Helpers for the H5 portal tests: the OAuth round trip, test photos, a valid form."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import urlsplit

import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from eco12369.wechat.simulator import Simulator


def oauth_login(client: Client, sim: Simulator, openid: str, start: str = "/portal/report/") -> Any:
    """Open a portal page, follow WeChat's authorisation as ``openid`` and return the callback's response."""
    first = client.get(start)
    assert first.status_code == 302, first
    authorize = first["Location"]
    assert authorize.startswith(sim.url.rstrip("/") + "/connect/oauth2/authorize?"), authorize
    # The browser's side of the round trip: the simulator plays WeChat and sends us back with a code.
    back = requests.get(authorize, cookies={"sim_openid": openid}, allow_redirects=False, timeout=5)
    assert back.status_code == 302, back.text
    callback = urlsplit(back.headers["Location"])
    return client.get(f"{callback.path}?{callback.query}")


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (40, 30), color: str = "#3a7") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format=fmt)
    return buf.getvalue()


def photo(
    name: str = "现场.png", fmt: str = "PNG", content_type: str = "image/png", **kw: Any
) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, image_bytes(fmt, **kw), content_type=content_type)


def form_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": "report",
        "category": "air",
        "district": "120101",  # 和平区
        "reported_party": "天津某某化工有限公司",
        "address": "和平区南京路100号",
        "latitude": "39.117721",
        "longitude": "117.196612",
        "occurred_at": "2025-03-01T21:30",
        "description": "工厂烟囱每天夜里冒黑烟，气味刺鼻。",
        "anonymous": "0",
        "reporter_name": "张三",
        "reporter_phone": "13812345678",
    }
    data.update(overrides)
    return data
