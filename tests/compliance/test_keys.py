"""Key rotation (docs/field-encryption.md): ``rotate_field_keys`` re-encrypts every encrypted value with the
newest key of ECO_FIELD_KEYS and recomputes the blind indexes; ``--check`` says whether anything is left;
values stay readable throughout, and look-ups by openid work after an index-key change."""

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

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def _stored(case: Case) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reporter_phone FROM cases_case WHERE id = %s", [case.pk])
        return str(cursor.fetchone()[0])


def _rotate(*args: str) -> str:
    out = io.StringIO()
    call_command("rotate_field_keys", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_rotation_re_encrypts_everything_with_the_newest_key(make_case: Callable[..., Case]) -> None:
    with override_settings(ECO_FIELD_KEYS=OLD):
        cases = [make_case(reporter_phone=f"1380000000{i}", reporter_openid=f"oROT{i}") for i in range(5)]
        case_follow(case=cases[0], openid="oFOLLOWER")
        assert "0 个需要重新加密" in _rotate("--check")
    before = _stored(cases[0])
    with override_settings(ECO_FIELD_KEYS=f"{NEW},{OLD}"):
        with pytest.raises(CommandError, match="需要重新加密"):
            _rotate("--check")
        assert Case.objects.get(pk=cases[0].pk).reporter_phone == "13800000000"  # readable meanwhile
        out = _rotate("--batch-size", "2")
        assert "cases.Case: 已处理 2/5 行" in out and "cases.Case: 已处理 5/5 行" in out
        assert "followup.Follow" in out
        assert _stored(cases[0]) != before
        assert "0 个需要重新加密" in _rotate("--check")
    with override_settings(ECO_FIELD_KEYS=NEW):  # the old key can go
        assert [c.reporter_phone for c in Case.objects.order_by("pk")] == [f"1380000000{i}" for i in range(5)]
        assert Follow.objects.get().openid == "oFOLLOWER"
        assert list(cases_of_reporter(openid="oROT3")) == [cases[3]]
    entry = AuditEntry.objects.get(action="key_rotation")
    assert entry.detail["rewritten_rows"] == 6


@pytest.mark.django_db
def test_an_index_key_change_is_repaired_by_the_rotation(make_case: Callable[..., Case]) -> None:
    case = make_case(reporter_openid="oINDEX")
    with override_settings(ECO_INDEX_KEY="a-new-index-key-0123456789"):
        assert not cases_of_reporter(openid="oINDEX").exists()  # stale until re-indexed
        with pytest.raises(CommandError, match="1 个盲索引需要重算"):
            _rotate("--check")
        _rotate()
        assert list(cases_of_reporter(openid="oINDEX")) == [case]


@pytest.mark.django_db
def test_values_no_key_opens_are_reported_not_destroyed(make_case: Callable[..., Case]) -> None:
    with override_settings(ECO_FIELD_KEYS=OLD):
        case = make_case(reporter_phone="13800000000")
    before = _stored(case)
    with override_settings(ECO_FIELD_KEYS=NEW), pytest.raises(CommandError, match="无法解密"):
        _rotate()
    assert _stored(case) == before
