"""Photos as a phone takes them (EXIF with GPS, make and model, the time, a sideways orientation, XMP, an
ICC profile, a comment), and the checks that a stored photo carries none of it and stands upright."""

from __future__ import annotations

import io

from PIL import Image, ImageCms, ImageOps, PngImagePlugin

MAKE = "EcoTestPhoneMaker"
MODEL = "EcoTestPhone 15 Pro"
TAKEN = "2025:03:01 21:30:00"
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="39,7.06N"/>'
    b"</rdf:RDF></x:xmpmeta>"
)
COMMENT = b"EcoTestComment home of the reporter"
# Traces that must not be found anywhere in a stored file.
TRACES = (MAKE.encode(), MODEL.encode(), TAKEN.encode(), b"Exif\x00\x00", b"ns.adobe.com", b"EcoTestComment")

# As the sensor stores it: 60 wide, 40 high, left half red, right half blue. Orientation 6 says "turn 90°
# clockwise to view": upright it is 40 wide, 60 high, red on top, blue below.
SENSOR_SIZE = (60, 40)
UPRIGHT_SIZE = (40, 60)
RED = (220, 20, 20)
BLUE = (20, 20, 220)


def phone_exif(orientation: int = 6) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = MAKE  # Make
    exif[0x0110] = MODEL  # Model
    exif[0x0132] = TAKEN  # DateTime
    exif[0x0112] = orientation  # Orientation
    gps = exif.get_ifd(0x8825)  # GPSInfo: 39°7'3.5"N 117°11'47.8"E, the reporter's home
    gps[1] = "N"
    gps[2] = (39.0, 7.0, 3.5)
    gps[3] = "E"
    gps[4] = (117.0, 11.0, 47.8)
    return exif


def sensor_image(mode: str = "RGB") -> Image.Image:
    image = Image.new("RGB", SENSOR_SIZE, BLUE)
    image.paste(RED, (0, 0, SENSOR_SIZE[0] // 2, SENSOR_SIZE[1]))
    return image.convert(mode)


def _srgb_profile() -> bytes:
    return bytes(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())


def phone_jpeg(*, icc: bool = True) -> bytes:
    buf = io.BytesIO()
    extra = {"icc_profile": _srgb_profile()} if icc else {}
    sensor_image().save(buf, format="JPEG", quality=95, exif=phone_exif(), xmp=XMP, comment=COMMENT, **extra)
    data = buf.getvalue()
    # The photo really carries what the test is about.
    with Image.open(io.BytesIO(data)) as check:
        exif = check.getexif()
        assert exif[0x010F] == MAKE and exif[0x0112] == 6 and exif.get_ifd(0x8825)[2]
        assert check.size == SENSOR_SIZE
    return data


def phone_png(mode: str = "RGBA", *, icc: bool = False) -> bytes:
    buf = io.BytesIO()
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", COMMENT.decode())
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    extra = {"icc_profile": _srgb_profile()} if icc else {}
    sensor_image(mode).save(buf, format="PNG", exif=phone_exif(), pnginfo=info, **extra)
    data = buf.getvalue()
    with Image.open(io.BytesIO(data)) as check:
        assert check.getexif()[0x010F] == MAKE
    return data


def phone_webp() -> bytes:
    buf = io.BytesIO()
    sensor_image().save(buf, format="WEBP", quality=95, exif=phone_exif(), xmp=XMP)
    data = buf.getvalue()
    with Image.open(io.BytesIO(data)) as check:
        assert check.getexif()[0x010F] == MAKE
    return data


def assert_clean_and_upright(data: bytes, fmt: str = "JPEG", mode: str = "RGB") -> None:
    """``data`` is a ``fmt`` image with no EXIF (no GPS, make, time, orientation), no XMP, ICC profile or
    comment, and the picture turned as the phone's orientation said: red on top, blue below (in the
    ``mode`` the photo was taken in: grey tones for a greyscale one)."""
    for trace in TRACES:
        assert trace not in data, trace
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == fmt
        exif = image.getexif()
        assert dict(exif) == {}, dict(exif)
        assert exif.get_ifd(0x8825) == {}  # no GPS
        for key in ("exif", "xmp", "XML:com.adobe.xmp", "icc_profile", "comment", "Comment"):
            assert key not in image.info, key
        markers = [(marker, body[:4]) for marker, body in getattr(image, "applist", [])]
        assert markers in ([], [("APP0", b"JFIF")]), markers  # JPEG: no APP1 (EXIF, XMP), APP2 (ICC)...
        assert image.size == UPRIGHT_SIZE  # width and height swapped
        upright = ImageOps.exif_transpose(image)  # would turn it (again) if any orientation were left
        assert upright.size == UPRIGHT_SIZE
        rgb = image.convert("RGB")
        top, bottom = rgb.getpixel((20, 5)), rgb.getpixel((20, 55))
    assert isinstance(top, tuple) and isinstance(bottom, tuple)
    assert _near(top, _seen(RED, mode)) and _near(bottom, _seen(BLUE, mode)), (top, bottom)


def _seen(colour: tuple[int, int, int], mode: str) -> tuple[int, ...]:
    pixel = Image.new("RGB", (1, 1), colour).convert(mode).convert("RGB").getpixel((0, 0))
    assert isinstance(pixel, tuple)
    return tuple(int(v) for v in pixel)


def _near(pixel: tuple[float, ...], colour: tuple[int, ...]) -> bool:
    return all(abs(int(a) - b) <= 12 for a, b in zip(pixel[:3], colour[:3], strict=True))
