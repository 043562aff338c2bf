"""Photos sent in chat (fetched from WeChat's ``media/get``) keep no metadata of the reporter's phone: the
draft's copy and the case's attachment are upright and without EXIF (GPS, make, model, time), XMP or ICC."""

from __future__ import annotations

from typing import Any

import pytest

from eco12369.cases.models import Case
from eco12369.wechat.models import DraftPhoto
from eco12369.wechat.simulator import Simulator
from tests.photo_metadata import assert_clean_and_upright, phone_jpeg, phone_png

from .conftest import WeChatServer

pytestmark = pytest.mark.django_db
OPENID = "oChatExif0001"


def test_photo_fetched_as_it_arrives_is_stored_clean_in_the_draft_and_on_the_case(
    wechat: WeChatServer,
    wechat_simulator: Simulator,
    tianjin: None,
    media_root: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    wechat.text(OPENID, "某电镀厂向河道排放黄色废水。")
    for data, content_type in ((phone_jpeg(), "image/jpeg"), (phone_png(), "image/png")):
        media_id = wechat_simulator.add_media(data, content_type)
        with django_capture_on_commit_callbacks(execute=True):  # the fetch task runs (Huey is immediate)
            assert "照片" in wechat.reply(wechat.image(OPENID, media_id))
    drafts = list(DraftPhoto.objects.order_by("id"))
    assert [d.fetched_at is not None for d in drafts] == [True, True]
    for draft, fmt in zip(drafts, ("JPEG", "PNG"), strict=True):
        with draft.file.open("rb") as fh:
            on_disk = fh.read()
        assert_clean_and_upright(on_disk, fmt)
        assert draft.size == len(on_disk)

    assert Case.objects.count() == 0
    wechat.reply(wechat.text(OPENID, "提交"))
    attachments = list(Case.objects.get().attachments.order_by("id"))
    assert [a.content_type for a in attachments] == ["image/jpeg", "image/png"]
    for attachment, fmt in zip(attachments, ("JPEG", "PNG"), strict=True):
        with attachment.file.open("rb") as fh:
            assert_clean_and_upright(fh.read(), fmt)


def test_photo_fetched_only_after_submit_is_stored_clean(
    wechat: WeChatServer,
    wechat_simulator: Simulator,
    tianjin: None,
    media_root: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    wechat.text(OPENID, "工厂夜间冒黑烟。")
    # No commit hook: the fetch task does not run; the task enqueued by 提交 attaches it to the case.
    wechat.image(OPENID, wechat_simulator.add_media(phone_jpeg(), "image/jpeg"))
    assert DraftPhoto.objects.get().fetched_at is None
    with django_capture_on_commit_callbacks(execute=True):
        wechat.reply(wechat.text(OPENID, "提交"))
    case = Case.objects.get()
    with case.attachments.get().file.open("rb") as fh:
        assert_clean_and_upright(fh.read())
