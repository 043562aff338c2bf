"""``manage.py photos_clean [--dry-run] [--batch-size N]``: remove the metadata (EXIF with GPS, make, model
and time, XMP, ICC, comments, appended data) from the reporters' photos stored before every channel passed
them through ``cases.photos.photo_clean``: the cases' attachments, the H5 form's staged photos and the
WeChat chat's draft photos.

A photo that already carries nothing but its pictures is recognised from its structure without being decoded
(``photo_is_clean``) and left as it is, so a second run changes nothing. Any other photo is cleaned by
``photo_clean`` (upright, sRGB, encoded again from its pixels alone) and written under a new random name; the
row is switched to the new file in a transaction and the old file is deleted only once that transaction has
committed, so a crash leaves at worst an unreferenced new file, never a row without its file. A file that
cannot be read or decoded is reported and left untouched; the run goes on."""

from __future__ import annotations

import io
import posixpath
import struct
from argparse import ArgumentParser
from dataclasses import dataclass, fields
from functools import partial
from typing import Any

from django.apps import apps
from django.core.files.base import ContentFile
from django.core.files.storage import Storage
from django.core.management.base import BaseCommand, CommandError
from django.db import models, transaction
from PIL import Image

from eco12369.audit.models import AuditAction
from eco12369.audit.services import audit_record
from eco12369.cases.photos import PhotoRejected, photo_clean
from eco12369.cases.services import random_upload_name

# Every model that stores a reporter's photo: (label, its name in the output). Each has ``file``,
# ``content_type`` and ``size``.
PHOTO_MODELS = (
    ("cases.Attachment", "举报件照片"),
    ("portal.StagedPhoto", "H5 表单暂存照片"),
    ("wechat.DraftPhoto", "微信会话草稿照片"),
)

# What a clean photo may still say about itself: how it is encoded, nothing about the phone or the place.
_HARMLESS_INFO = {
    "jfif",
    "jfif_version",
    "jfif_unit",
    "jfif_density",
    "dpi",
    "progressive",
    "progression",
    "transparency",
    "background",
    "loop",
    "duration",
    "timestamp",
}
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_CHUNKS = {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}
_WEBP_CHUNKS = {b"VP8 ", b"VP8L", b"VP8X", b"ALPH"}
_REJECTED = {"not_image": "无法解码", "too_large": "超过 10 MB", "too_many_pixels": "像素过多"}


def photo_is_clean(data: bytes) -> bool:
    """Whether ``data`` is a JPEG, PNG or WebP with nothing but the picture in it, as ``photo_clean``
    writes them: no EXIF, XMP, ICC profile, comment, text, further frames or appended data. Judged from the
    headers and the file's structure only; no pixel is decoded."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt = image.format
            if fmt not in ("JPEG", "PNG", "WEBP"):  # MPO: further pictures appended
                return False
            # EXIF (with the orientation), XMP, ICC and comments are all reported in ``info``.
            if set(image.info) - _HARMLESS_INFO or getattr(image, "n_frames", 1) != 1:
                return False
            if fmt == "JPEG":
                markers = [(marker, body[:5]) for marker, body in getattr(image, "applist", [])]
                if markers not in ([], [("APP0", b"JFIF\x00")]):  # EXIF, XMP, ICC, Adobe, comments...
                    return False
    except Exception:  # anything Pillow cannot open is not clean: photo_clean decides
        return False
    if fmt == "JPEG":
        return data.endswith(b"\xff\xd9")  # nothing appended after the end of the picture (motion photos)
    if fmt == "PNG":
        return _png_chunks_plain(data)
    return _webp_chunks_plain(data)


def _png_chunks_plain(data: bytes) -> bool:
    """Only the chunks of the picture (text, EXIF or a colour profile may also follow the pixel data,
    where Pillow does not look without decoding), and nothing after the end."""
    if not data.startswith(_PNG_SIGNATURE):
        return False
    pos = len(_PNG_SIGNATURE)
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        if kind not in _PNG_CHUNKS:
            return False
        pos += 12 + length
        if kind == b"IEND":
            return pos == len(data)
    return False


def _webp_chunks_plain(data: bytes) -> bool:
    """Only the chunks of the picture (no EXIF, XMP, ICCP or animation), and the RIFF container holds the
    whole file."""
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP" or struct.unpack("<I", data[4:8])[0] != len(data) - 8:
        return False
    pos = 12
    while pos + 8 <= len(data):
        kind = data[pos : pos + 4]
        (length,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        if kind not in _WEBP_CHUNKS:
            return False
        pos += 8 + length + (length & 1)
    return pos == len(data)


@dataclass
class Tally:
    checked: int = 0
    already_clean: int = 0
    cleaned: int = 0  # with --dry-run: would be cleaned
    missing: int = 0
    failed: int = 0  # cannot be read or decoded; left as it is
    changed_meanwhile: int = 0  # the row changed or went away while its photo was cleaned

    def add(self, other: Tally) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass
class _Cleaned:
    pk: Any
    old_name: str
    new_name: str
    size: int
    content_type: str


class Command(BaseCommand):
    help = (
        "清除已存储的举报人照片中的元数据（EXIF 中的 GPS 位置、设备型号、拍摄时间，XMP、ICC、注释等）："
        "按 EXIF 方向转正后重新编码，写入新文件名，提交后删除旧文件；已无元数据的照片不改动。"
        "--dry-run 只报告不修改。"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="只检查并报告需要清理的照片，不做任何修改")
        parser.add_argument("--batch-size", type=int, default=200, help="每批处理的照片数（默认 200）")

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run: bool = options["dry_run"]
        size: int = options["batch_size"]
        if size < 1:
            raise CommandError("--batch-size 必须大于 0。")
        total = Tally()
        per_model: dict[str, Tally] = {}
        for model_label, title in PHOTO_MODELS:
            model = apps.get_model(model_label)
            tally = self._model(model, title, size=size, dry_run=dry_run)
            per_model[model_label] = tally
            total.add(tally)

        done = "需要清理" if dry_run else "已清理"
        self.stdout.write("")
        for (_label, title), tally in zip(PHOTO_MODELS, per_model.values(), strict=True):
            self.stdout.write(f"{title}：{self._summary(tally, done)}")
        summary = f"合计：{self._summary(total, done)}"
        if dry_run:
            self.stdout.write(self.style.SUCCESS(f"{summary[:-1]}（试运行，未做任何修改）。"))
            return
        audit_record(
            action=AuditAction.PHOTOS_CLEAN,
            actor_label="system",
            detail={
                **{f.name: getattr(total, f.name) for f in fields(total)},
                "models": {
                    label: {f.name: getattr(tally, f.name) for f in fields(tally)}
                    for label, tally in per_model.items()
                },
            },
        )
        style = self.style.WARNING if total.missing or total.failed else self.style.SUCCESS
        self.stdout.write(style(summary))

    @staticmethod
    def _summary(tally: Tally, done: str) -> str:
        text = (
            f"检查 {tally.checked} 张，{done} {tally.cleaned} 张，已无元数据 {tally.already_clean} 张，"
            f"文件缺失 {tally.missing} 张，无法处理 {tally.failed} 张"
        )
        if tally.changed_meanwhile:
            text += f"，处理期间被修改或删除 {tally.changed_meanwhile} 张"
        return text + "。"

    def _model(self, model: type[models.Model], title: str, *, size: int, dry_run: bool) -> Tally:
        """One model, in batches of ``size`` rows by primary key; rows without a file (a chat photo not
        fetched yet) are not photos to clean."""
        field = model._meta.get_field("file")
        assert isinstance(field, models.FileField)
        storage = field.storage
        stored = model._default_manager.exclude(file="").order_by("pk")
        count = stored.count()
        tally, last = Tally(), None
        done = "需要清理" if dry_run else "已清理"
        self.stdout.write(f"{title}（{model._meta.label}）：共 {count} 张")
        while True:
            batch = stored if last is None else stored.filter(pk__gt=last)
            rows = list(batch.values_list("pk", "file")[:size])
            if not rows:
                break
            cleaned: list[_Cleaned] = []
            try:
                for pk, name in rows:
                    tally.checked += 1
                    item = self._photo(model, storage, pk, name, tally, dry_run=dry_run)
                    if item is not None:
                        cleaned.append(item)
                switched = self._switch(model, storage, cleaned)
            except BaseException:
                for item in cleaned:  # not committed: the rows still point at their old files
                    storage.delete(item.new_name)
                raise
            tally.cleaned += len(switched)
            for item in cleaned:
                if item not in switched:
                    storage.delete(item.new_name)
                    tally.changed_meanwhile += 1
                    self.stderr.write(f"  {model._meta.label} #{item.pk}：处理期间记录已被修改或删除，未改动")
            last = rows[-1][0]
            self.stdout.write(f"{title}：{tally.checked}/{count}，{done} {tally.cleaned} 张")
        return tally

    def _photo(
        self, model: type[models.Model], storage: Storage, pk: Any, name: str, tally: Tally, *, dry_run: bool
    ) -> _Cleaned | None:
        """Check one stored photo; unless ``dry_run``, write its cleaned copy under a new name."""
        where = f"{model._meta.label} #{pk}（{name}）"
        try:
            with storage.open(name, "rb") as fh:
                data = fh.read()
        except FileNotFoundError:
            tally.missing += 1
            self.stderr.write(f"  {where}：文件缺失，已跳过")
            return None
        except OSError as exc:
            tally.failed += 1
            self.stderr.write(f"  {where}：无法读取（{exc.__class__.__name__}），已跳过")
            return None
        if photo_is_clean(data):
            tally.already_clean += 1
            return None
        try:
            photo = photo_clean(data)
        except PhotoRejected as exc:
            tally.failed += 1
            self.stderr.write(f"  {where}：{_REJECTED.get(exc.code, exc.code)}，原文件保留未改动")
            return None
        if dry_run:
            tally.cleaned += 1
            return None
        # Beside the old file (same dated folder), under a new random name with the cleaned format's extension.
        target = posixpath.join(posixpath.dirname(name), random_upload_name("photo" + photo.extension))
        new_name = storage.save(target, ContentFile(photo.data))
        return _Cleaned(pk, name, new_name, len(photo.data), photo.content_type)

    def _switch(self, model: type[models.Model], storage: Storage, items: list[_Cleaned]) -> list[_Cleaned]:
        """Point the rows at their cleaned files in one transaction; the old files are deleted once it has
        committed. A row that no longer points at the file that was cleaned keeps what it has now (it is
        left out of the list returned)."""
        switched: list[_Cleaned] = []
        if not items:
            return switched
        with transaction.atomic():
            for item in items:
                updated = model._default_manager.filter(pk=item.pk, file=item.old_name).update(
                    file=item.new_name, size=item.size, content_type=item.content_type
                )
                if updated:
                    switched.append(item)
                    transaction.on_commit(partial(storage.delete, item.old_name), robust=True)
        return switched
