"""The simulator's reporter page (filled in below; kept apart from the protocol code)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def render_page(*, config: Any, openids: list[str], escape: Callable[[str], str]) -> str:
    return "<!doctype html><html lang='zh-CN'><meta charset='utf-8'><title>微信模拟器</title><h1>微信模拟器</h1></html>"
