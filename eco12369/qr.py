"""QR codes drawn as inline SVG (no image file, nothing fetched): the TOTP set-up page and the reporter's
"open this page in WeChat" page."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from qrcode.exceptions import DataOverflowError


class QrTooLong(ValueError):
    """The text does not fit in the largest QR code (version 40: about 2,300 bytes of a URL)."""


def qr_svg(text: str, *, box_size: int = 8) -> str:
    """The QR code of ``text`` as SVG; ``QrTooLong`` when it does not fit (the library's own ValueError)."""
    try:
        img = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=box_size)
    except (ValueError, DataOverflowError) as exc:
        raise QrTooLong(f"{len(text.encode())} bytes do not fit in a QR code") from exc
    buf = io.BytesIO()
    img.save(buf)
    return buf.getvalue().decode()
