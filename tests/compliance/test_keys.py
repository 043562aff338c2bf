"""Key rotation (docs/field-encryption.md): ``rotate_field_key`` re-encrypts every encrypted value with the
newest key of ECO_FIELD_KEYS (the cases, the follows, and the openids of the WeChat outbox and conversations
and of the H5 forms) and recomputes the blind indexes; ``--check`` says whether anything is left; values
stay readable throughout, and look-ups by openid work after an index-key change."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from eco12369.audit.models import AuditEntry
from eco12369.cases.models import Case
from eco12369.cases.selectors import cases_of_reporter
from eco12369.followup.models import Follow
from eco12369.followup.services import case_follow
from eco12369.notifications.models import OutboxMessage
from eco12369.portal.models import Submission
from eco12369.portal.selectors import submission_get
from eco12369.wechat.models import Conversation
from eco12369.wechat.selectors import conversation_of, outbox_waiting_for

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def _stored(case: Case) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reporter_phone FROM cases_case WHERE id = %s", [case.pk])
        return str(cursor.fetchone()[0])


def _openids(table: str) -> list[str]:
    """The stored (encrypted) openids of a WeChat or H5 table."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT openid FROM {table} ORDER BY id")
        return [str(row[0]) for row in cursor.fetchall()]


def _rotate(*args: str) -> str:
    out = io.StringIO()
    call_command("rotate_field_key", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_rotation_re_encrypts_everything_with_the_newest_key(make_case: Callable[..., Case]) -> None:
    with override_settings(ECO_FIELD_KEYS=OLD):
        cases = [make_case(reporter_phone=f"1380000000{i}", reporter_openid=f"oROT{i}") for i in range(5)]
        case_follow(case=cases[0], openid="oFOLLOWER")
        Conversation.objects.create(openid="oROT0")
        Submission.objects.create(token="t" * 32, openid="oROT1")
        assert "0 个需要重新加密" in _rotate("--check")
    before = _stored(cases[0])
    wechat_before = [
        _openids(t) for t in ("wechat_outboxmessage", "wechat_conversation", "portal_submission")
    ]
    with override_settings(ECO_FIELD_KEYS=f"{NEW},{OLD}"):
        with pytest.raises(CommandError, match="需要重新加密"):
            _rotate("--check")
        assert Case.objects.get(pk=cases[0].pk).reporter_phone == "13800000000"  # readable meanwhile
        out = _rotate("--batch-size", "2")
        assert "cases.Case: 已处理 2/5 行" in out and "cases.Case: 已处理 5/5 行" in out
        for label in (
            "followup.Follow",
            "notifications.OutboxMessage",
            "wechat.Conversation",
            "portal.Submission",
        ):
            assert label in out
        assert _stored(cases[0]) != before
        wechat_after = [
            _openids(t) for t in ("wechat_outboxmessage", "wechat_conversation", "portal_submission")
        ]
        for old, new in zip(wechat_before, wechat_after, strict=True):
            assert len(old) == len(new) and not set(old) & set(new)  # every value encrypted again
        assert "0 个需要重新加密" in _rotate("--check")
    with override_settings(ECO_FIELD_KEYS=NEW):  # the old key can go
        assert [c.reporter_phone for c in Case.objects.order_by("pk")] == [f"1380000000{i}" for i in range(5)]
        assert Follow.objects.get().openid == "oFOLLOWER"
        assert list(cases_of_reporter(openid="oROT3")) == [cases[3]]
        assert sorted(m.openid for m in OutboxMessage.objects.all()) == sorted(
            ["oFOLLOWER", *(f"oROT{i}" for i in range(5))]
        )
        conv = conversation_of(openid="oROT0")
        assert conv is not None and conv.openid == "oROT0"
        submission = submission_get(openid="oROT1", token="t" * 32)
        assert submission is not None and submission.openid == "oROT1"
    entry = AuditEntry.objects.get(action="key_rotation")
    # 5 cases, 1 follow, 6 outbox messages (5 acknowledgements, the follow's notice), 1 conversation, 1 form
    assert entry.detail["rewritten_rows"] == 14


@pytest.mark.django_db
def test_an_index_key_change_is_repaired_by_the_rotation(make_case: Callable[..., Case]) -> None:
    case = make_case(reporter_openid="oINDEX")  # and its acknowledgement in the outbox
    OutboxMessage.objects.update(status=OutboxMessage.Status.WAITING)
    Conversation.objects.create(openid="oINDEX")
    Submission.objects.create(token="t" * 32, openid="oINDEX")
    with override_settings(ECO_INDEX_KEY="a-new-index-key-0123456789"):
        assert not cases_of_reporter(openid="oINDEX").exists()  # stale until re-indexed
        assert conversation_of(openid="oINDEX") is None
        assert not outbox_waiting_for(openid="oINDEX").exists()
        assert submission_get(openid="oINDEX", token="t" * 32) is None
        with pytest.raises(CommandError, match="4 个盲索引需要重算"):
            _rotate("--check")
        _rotate()
        assert list(cases_of_reporter(openid="oINDEX")) == [case]
        assert conversation_of(openid="oINDEX") is not None
        assert [m.case_id for m in outbox_waiting_for(openid="oINDEX")] == [case.pk]
        assert submission_get(openid="oINDEX", token="t" * 32) is not None


@pytest.mark.django_db
def test_values_no_key_opens_are_reported_not_destroyed(make_case: Callable[..., Case]) -> None:
    with override_settings(ECO_FIELD_KEYS=OLD):
        case = make_case(reporter_phone="13800000000")
    before = _stored(case)
    with override_settings(ECO_FIELD_KEYS=NEW), pytest.raises(CommandError, match="无法解密"):
        _rotate()
    assert _stored(case) == before


@pytest.mark.django_db
def test_rotation_moves_fernet_values_to_sm4_gcm(make_case: Callable[..., Case]) -> None:
    """National algorithms (issue 11): what the platform wrote before (Fernet, AES) stays readable, and
    ``rotate_field_key`` re-encrypts it with SM4-GCM."""
    with override_settings(ECO_FIELD_KEYS=OLD, ECO_FIELD_CIPHER="fernet"):
        case = make_case(reporter_phone="13700001111", reporter_openid="oSM4")
        assert _stored(case).startswith("enc1:")
    with override_settings(ECO_FIELD_KEYS=OLD):
        assert Case.objects.get(pk=case.pk).reporter_phone == "13700001111"
        with pytest.raises(CommandError, match="需要重新加密"):
            _rotate("--check")
        _rotate()
        assert _stored(case).startswith("enc2:")
        assert "0 个需要重新加密" in _rotate("--check")
        assert Case.objects.get(pk=case.pk).reporter_phone == "13700001111"
        assert AuditEntry.objects.filter(action="key_rotation", detail__cipher="sm4-gcm").exists()
