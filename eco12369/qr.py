"""QR codes drawn as inline SVG (no image file, nothing fetched): the TOTP set-up page and the reporter's
"open this page in WeChat" page."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg


def qr_svg(text: str, *, box_size: int = 8) -> str:
    img = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=box_size)
    buf = io.BytesIO()
    img.save(buf)
    return buf.getvalue().decode()
