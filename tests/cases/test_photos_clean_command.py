"""``manage.py photos_clean``: the photos stored before every channel cleaned them (case attachments, the H5
form's staged photos, WeChat draft photos) lose their metadata. Each is stored again upright and without
EXIF, under a new name; its row is switched in a transaction and the old file is deleted only after the
commit. Broken and missing files are reported and left; ``--dry-run`` changes nothing; a second run neither."""

from __future__ import annotations

import io
import json
import re
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from eco12369.audit.models import AuditEntry
from eco12369.cases.management.commands.photos_clean import photo_is_clean
from eco12369.cases.models import Attachment, Case
from eco12369.cases.photos import photo_clean
from eco12369.portal.models import StagedPhoto, Submission
from eco12369.wechat.models import Conversation, DraftPhoto
from tests.photo_metadata import (
    MAKE,
    assert_clean_and_upright,
    phone_exif,
    phone_jpeg,
    phone_png,
    phone_webp,
    sensor_image,
)

pytestmark = pytest.mark.django_db
FORM_OPENID = "oOldFormReporter01"
CHAT_OPENID = "oOldChatReporter01"


@pytest.fixture
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "uploads"
    return Path(settings.MEDIA_ROOT)


def store(row: Any, name: str, data: bytes, content_type: str) -> Any:
    """As old data was stored: the phone's bytes as they came, saved through the model's FileField."""
    row.content_type = content_type
    row.size = len(data)
    row.file.save(name, ContentFile(data), save=True)
    return row


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("photos_clean", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def state(media_root: Path) -> tuple[list[tuple[Any, ...]], dict[str, bytes]]:
    """Every photo row (file, size, type) and every file under the media root with its bytes."""
    rows: list[tuple[Any, ...]] = []
    for model in (Attachment, StagedPhoto, DraftPhoto):
        rows += [
            (model._meta.label, *row)
            for row in model.objects.order_by("pk").values_list("pk", "file", "size", "content_type")
        ]
    files = {str(p.relative_to(media_root)): p.read_bytes() for p in media_root.rglob("*") if p.is_file()}
    return rows, files


@dataclass
class OldPhotos:
    jpeg: Attachment
    png: Attachment
    clean: Attachment  # stored after photo_clean came: already without metadata
    staged: StagedPhoto
    draft: DraftPhoto
    unfetched: DraftPhoto  # no file yet

    def with_metadata(self) -> list[tuple[Any, str, str, str]]:
        """(row, Pillow format, content type, extension) of the four photos that carry metadata."""
        return [
            (self.jpeg, "JPEG", "image/jpeg", ".jpg"),
            (self.png, "PNG", "image/png", ".png"),
            (self.staged, "JPEG", "image/jpeg", ".jpg"),
            (self.draft, "WEBP", "image/webp", ".webp"),
        ]


@pytest.fixture
def old_photos(make_case: Callable[..., Case], media_root: Path) -> OldPhotos:
    case = make_case()
    jpeg = store(
        Attachment(case=case, original_name="IMG_0001.jpg"), "IMG_0001.jpg", phone_jpeg(), "image/jpeg"
    )
    png = store(
        Attachment(case=case, original_name="Screenshot.png"), "Screenshot.png", phone_png(), "image/png"
    )
    clean = store(Attachment(case=case), "clean.jpg", photo_clean(phone_jpeg()).data, "image/jpeg")
    submission = Submission.objects.create(token="s" * 32, openid=FORM_OPENID)
    staged = store(
        StagedPhoto(submission=submission, key="k" * 32, original_name="IMG_0002.jpg"),
        "IMG_0002.jpg",
        phone_jpeg(icc=False),
        "image/jpeg",
    )
    conversation = Conversation.objects.create(openid=CHAT_OPENID)
    draft = store(
        DraftPhoto(conversation=conversation, media_id="media-1", fetched_at=timezone.now()),
        "1.webp",
        phone_webp(),
        "image/webp",
    )
    unfetched = DraftPhoto.objects.create(conversation=conversation, media_id="media-2")
    for row in (jpeg, png, staged, draft):  # the stored files really carry the phone's metadata
        assert MAKE.encode() in (media_root / row.file.name).read_bytes()
    return OldPhotos(jpeg, png, clean, staged, draft, unfetched)


def test_old_photos_are_stored_again_upright_without_metadata_under_new_names(
    old_photos: OldPhotos, media_root: Path, django_capture_on_commit_callbacks: Any
) -> None:
    old_names = [row.file.name for row, *_ in old_photos.with_metadata()]
    clean_before = (old_photos.clean.file.name, (media_root / old_photos.clean.file.name).read_bytes())

    with django_capture_on_commit_callbacks(execute=True):
        out, err = run("--batch-size", "2")

    for (row, fmt, content_type, extension), old in zip(old_photos.with_metadata(), old_names, strict=True):
        row.refresh_from_db()
        new = row.file.name
        assert new != old
        assert re.fullmatch(r"[0-9a-f]{32}" + re.escape(extension), Path(new).name), new
        assert Path(new).parent == Path(old).parent  # beside the old one, in its dated folder
        data = (media_root / new).read_bytes()
        assert_clean_and_upright(data, fmt)  # no EXIF/GPS/XMP/ICC/comment; 60×40 became 40×60
        assert row.size == len(data)
        assert row.content_type == content_type
        assert not (media_root / old).exists()
    assert old_photos.jpeg.original_name == "IMG_0001.jpg"  # only the file changed
    old_photos.clean.refresh_from_db()
    assert (
        old_photos.clean.file.name,
        (media_root / old_photos.clean.file.name).read_bytes(),
    ) == clean_before
    old_photos.unfetched.refresh_from_db()
    assert old_photos.unfetched.file.name == ""

    assert err == ""
    # Progress per model, batch by batch (two rows a batch), and the summary.
    assert "举报件照片（cases.Attachment）：共 3 张" in out
    assert "举报件照片：2/3，已清理 2 张" in out
    assert "举报件照片：3/3，已清理 2 张" in out
    assert "H5 表单暂存照片：1/1，已清理 1 张" in out
    assert "微信会话草稿照片：1/1，已清理 1 张" in out
    assert "合计：检查 5 张，已清理 4 张，已无元数据 1 张，文件缺失 0 张，无法处理 0 张。" in out

    entry = AuditEntry.objects.get(action="photos.clean")
    assert entry.actor_label == "system"
    assert entry.detail["checked"] == 5
    assert entry.detail["cleaned"] == 4
    assert entry.detail["already_clean"] == 1
    assert entry.detail["models"]["cases.Attachment"]["cleaned"] == 2
    assert entry.detail["models"]["wechat.DraftPhoto"]["cleaned"] == 1
    recorded = json.dumps(entry.detail, ensure_ascii=False)
    for personal in (FORM_OPENID, CHAT_OPENID, "IMG_", "Screenshot", *old_names):
        assert personal not in recorded


def test_old_file_is_deleted_only_once_the_switch_has_committed(
    old_photos: OldPhotos, media_root: Path, django_capture_on_commit_callbacks: Any
) -> None:
    old_names = [row.file.name for row, *_ in old_photos.with_metadata()]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run()
    # Not committed yet: the rows already point at the new files, the old files are all still there.
    for row, *_ in old_photos.with_metadata():
        row.refresh_from_db()
        assert row.file.name not in old_names
        assert (media_root / row.file.name).is_file()
    assert all((media_root / name).is_file() for name in old_names)
    files_before_commit = set(state(media_root)[1])
    for callback in callbacks:  # the commit (the audit trail's anchor check runs here too)
        callback()
    # The commit deletes exactly the four old files, nothing else.
    assert set(state(media_root)[1]) == files_before_commit - set(old_names)


def test_a_run_that_never_commits_leaves_every_row_with_its_old_intact_file(
    old_photos: OldPhotos, media_root: Path, django_capture_on_commit_callbacks: Any
) -> None:
    class Crash(Exception):
        pass

    rows_before, files_before = state(media_root)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Crash), transaction.atomic():
        run()
        raise Crash  # as if the process died before the commit
    rows_after, files_after = state(media_root)
    assert rows_after == rows_before
    for name, data in files_before.items():  # every old file is still there, unchanged
        assert files_after[name] == data


def test_broken_and_missing_files_are_reported_and_left_and_the_run_goes_on(
    make_case: Callable[..., Case], media_root: Path, django_capture_on_commit_callbacks: Any
) -> None:
    case = make_case()
    whole = phone_jpeg()
    broken = store(Attachment(case=case), "broken.jpg", whole[: len(whole) // 2], "image/jpeg")  # truncated
    gone = store(Attachment(case=case), "gone.jpg", whole, "image/jpeg")
    (media_root / gone.file.name).unlink()
    good = store(Attachment(case=case), "good.jpg", whole, "image/jpeg")
    broken_name, gone_name, good_name = broken.file.name, gone.file.name, good.file.name
    broken_bytes = (media_root / broken_name).read_bytes()

    with django_capture_on_commit_callbacks(execute=True):
        out, err = run("--batch-size", "1")

    assert f"cases.Attachment #{broken.pk}（{broken_name}）：无法解码，原文件保留未改动" in err
    assert f"cases.Attachment #{gone.pk}（{gone_name}）：文件缺失，已跳过" in err
    broken.refresh_from_db()
    assert broken.file.name == broken_name
    assert (media_root / broken_name).read_bytes() == broken_bytes
    gone.refresh_from_db()
    assert gone.file.name == gone_name
    good.refresh_from_db()  # the photo after them is still cleaned
    assert good.file.name != good_name
    assert_clean_and_upright((media_root / good.file.name).read_bytes())
    assert "举报件照片：3/3，已清理 1 张" in out
    assert "合计：检查 3 张，已清理 1 张，已无元数据 0 张，文件缺失 1 张，无法处理 1 张。" in out
    detail = AuditEntry.objects.get(action="photos.clean").detail
    assert (detail["cleaned"], detail["missing"], detail["failed"]) == (1, 1, 1)


def test_dry_run_reports_what_would_change_and_changes_nothing(
    old_photos: OldPhotos, media_root: Path, django_capture_on_commit_callbacks: Any
) -> None:
    before = state(media_root)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        out, err = run("--dry-run")
    assert state(media_root) == before  # same rows, same files, no new file
    assert callbacks == []
    assert not AuditEntry.objects.filter(action="photos.clean").exists()
    assert "举报件照片：3/3，需要清理 2 张" in out
    assert (
        "合计：检查 5 张，需要清理 4 张，已无元数据 1 张，文件缺失 0 张，无法处理 0 张（试运行，未做任何修改）。"
        in out
    )
    assert err == ""


def test_second_run_changes_nothing(
    old_photos: OldPhotos, media_root: Path, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        run()
    after_first = state(media_root)
    assert after_first[1]  # the cleaned files
    with django_capture_on_commit_callbacks(execute=True):
        out, _err = run()
    assert state(media_root) == after_first  # after the commit: no row switched, no file written or deleted
    assert "合计：检查 5 张，已清理 0 张，已无元数据 5 张，文件缺失 0 张，无法处理 0 张。" in out
    second = AuditEntry.objects.filter(action="photos.clean").order_by("id")
    assert [entry.detail["cleaned"] for entry in second] == [4, 0]


@pytest.mark.parametrize(
    "make",
    [
        phone_jpeg,
        lambda: phone_jpeg(icc=False),
        phone_png,
        lambda: phone_png("L", icc=True),
        lambda: phone_png("P"),
        phone_webp,
    ],
    ids=["jpeg", "jpeg-without-colour-profile", "png", "greyscale-png", "palette-png", "webp"],
)
def test_what_photo_clean_writes_is_recognised_as_clean_and_a_phone_photo_is_not(
    make: Callable[[], bytes],
) -> None:
    raw = make()
    assert not photo_is_clean(raw)
    assert photo_is_clean(photo_clean(raw).data)  # else every run would encode it again


def _png_with_chunk_before_end(data: bytes, kind: bytes, body: bytes) -> bytes:
    chunk = struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return data[:-12] + chunk + data[-12:]  # the last 12 bytes are IEND


def _webp_with_chunk(data: bytes, kind: bytes, body: bytes) -> bytes:
    extended = data[12:] + kind + struct.pack("<I", len(body)) + body + b"\x00" * (len(body) & 1)
    return b"RIFF" + struct.pack("<I", len(extended) + 4) + b"WEBP" + extended


def phone_exif_bytes() -> bytes:
    return phone_exif().tobytes()


@pytest.mark.parametrize(
    ("fmt", "add"),
    [
        ("JPEG", lambda data: data + b"MotionPhoto_Data" * 8),
        ("PNG", lambda data: data + b"appended"),
        ("PNG", lambda data: _png_with_chunk_before_end(data, b"tEXt", b"Comment\x00home of the reporter")),
        ("PNG", lambda data: _png_with_chunk_before_end(data, b"eXIf", phone_exif_bytes())),
        ("WEBP", lambda data: _webp_with_chunk(data, b"EXIF", phone_exif_bytes())),
        ("WEBP", lambda data: data + b"appended"),
    ],
    ids=[
        "jpeg-appended",
        "png-appended",
        "png-text-after-pixels",
        "png-exif-after-pixels",
        "webp-exif",
        "webp-appended",
    ],
)
def test_leftovers_pillow_does_not_report_from_the_headers_are_not_clean(
    fmt: str, add: Callable[[bytes], bytes]
) -> None:
    buf = io.BytesIO()
    sensor_image().save(buf, format=fmt)
    picture = photo_clean(buf.getvalue()).data
    assert photo_is_clean(picture)
    assert not photo_is_clean(add(picture))


def test_row_that_changes_while_its_photo_is_cleaned_keeps_what_it_has_now(
    old_photos: OldPhotos,
    media_root: Path,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from eco12369.cases.management.commands import photos_clean as command

    draft = old_photos.draft
    refetched = photo_clean(phone_jpeg()).data

    def clean_while_the_draft_is_fetched_again(data: bytes) -> Any:
        cleaned = photo_clean(data)
        if data == (media_root / draft.file.name).read_bytes():  # meanwhile the chat's task stores it again
            store(DraftPhoto.objects.get(pk=draft.pk), "again.jpg", refetched, "image/jpeg")
        return cleaned

    monkeypatch.setattr(command, "photo_clean", clean_while_the_draft_is_fetched_again)
    old_name = draft.file.name
    files_before = set(state(media_root)[1])
    with django_capture_on_commit_callbacks(execute=True):
        out, err = run()

    draft.refresh_from_db()
    assert Path(draft.file.name).name == "again.jpg"  # not overwritten with the cleaned copy of the old file
    assert draft.size == len(refetched)
    assert f"wechat.DraftPhoto #{draft.pk}：处理期间记录已被修改或删除，未改动" in err
    assert "处理期间被修改或删除 1 张" in out
    # Its cleaned copy was removed again: the only new files are the other photos' cleaned ones and the
    # draft's file as it was stored again.
    others: list[Attachment | StagedPhoto] = [old_photos.jpeg, old_photos.png, old_photos.staged]
    for row in others:
        row.refresh_from_db()
    assert set(state(media_root)[1]) - files_before == {draft.file.name, *(row.file.name for row in others)}
    assert (media_root / old_name).is_file()  # whoever changed the row owns the file it pointed at
