"""Reporter identity at rest (Art. 17, PIPL): the name, phone and openid columns hold ciphertext only; the
openid is found through its keyed blind index; a look-up by value on an encrypted column is refused
instead of silently finding nothing; rows written before encryption are encrypted by the data migration."""

from __future__ import annotations

import importlib
from collections.abc import Callable

import pytest
from django.apps import apps
from django.core.exceptions import FieldError
from django.db import connection

from eco12369.cases.models import Case
from eco12369.cases.selectors import cases_of_reporter
from eco12369.crypto import PREFIXES, blind_index

pytestmark = pytest.mark.django_db
NAME, PHONE, OPENID = "欧阳娜娜", "13812341234", "oENC-reporter-openid"


def _row(case: Case) -> tuple[str, str, str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reporter_name, reporter_phone, reporter_openid, reporter_openid_digest "
            "FROM cases_case WHERE id = %s",
            [case.pk],
        )
        return cursor.fetchone()


def test_columns_hold_ciphertext_and_the_orm_reads_clear_text(make_case: Callable[..., Case]) -> None:
    case = make_case(reporter_name=NAME, reporter_phone=PHONE, reporter_openid=OPENID)
    name, phone, openid, digest = _row(case)
    for stored, clear in ((name, NAME), (phone, PHONE), (openid, OPENID)):
        assert stored.startswith(PREFIXES) and clear not in stored
        assert "1381234" not in stored and "欧阳" not in stored
    assert digest == blind_index(OPENID) and OPENID not in digest
    fresh = Case.objects.get(pk=case.pk)
    assert (fresh.reporter_name, fresh.reporter_phone, fresh.reporter_openid) == (NAME, PHONE, OPENID)
    # Same values, different ciphertexts: nothing links two reports of one reporter but the keyed index.
    other = make_case(reporter_name=NAME, reporter_phone=PHONE, reporter_openid=OPENID)
    assert _row(other)[:3] != (name, phone, openid) and _row(other)[3] == digest


def test_the_reporter_is_found_by_the_blind_index_only(make_case: Callable[..., Case]) -> None:
    mine = [make_case(reporter_openid=OPENID), make_case(reporter_openid=OPENID)]
    make_case(reporter_openid="oSOMEONE-ELSE")
    make_case(channel="phone", reporter_openid="")
    assert set(cases_of_reporter(openid=OPENID)) == set(mine)
    assert not cases_of_reporter(openid="").exists()
    assert not cases_of_reporter(openid="oNOBODY").exists()
    assert Case.objects.filter(reporter_openid="").count() == 1  # "is empty" still works
    for lookup in ("reporter_openid", "reporter_name__contains", "reporter_phone__startswith"):
        with pytest.raises(FieldError):
            list(Case.objects.filter(**{lookup: OPENID}))


def test_the_data_migration_encrypts_rows_written_in_clear(make_case: Callable[..., Case]) -> None:
    case = make_case(reporter_name=NAME, reporter_phone=PHONE, reporter_openid=OPENID)
    with connection.cursor() as cursor:  # as the table was before encryption
        cursor.execute(
            "UPDATE cases_case SET reporter_name = %s, reporter_phone = %s, reporter_openid = %s, "
            "reporter_openid_digest = '' WHERE id = %s",
            [NAME, PHONE, OPENID, case.pk],
        )
    assert not cases_of_reporter(openid=OPENID).exists()
    migration = importlib.import_module("eco12369.cases.migrations.0005_reporter_encrypt_existing")
    migration.encrypt_existing(apps, None)
    name, phone, openid, digest = _row(case)
    assert all(v.startswith(PREFIXES) for v in (name, phone, openid)) and NAME not in name
    assert digest == blind_index(OPENID)
    assert list(cases_of_reporter(openid=OPENID)) == [case]
    assert Case.objects.get(pk=case.pk).reporter_phone == PHONE
    migration.encrypt_existing(apps, None)  # idempotent
    assert Case.objects.get(pk=case.pk).reporter_name == NAME
