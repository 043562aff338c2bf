"""Schemathesis: generated requests against every documented Open311 operation must get responses that
match the OpenAPI document (status codes, content types, bodies) and never a server error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from eco12369.orgs.tianjin import tianjin_load
from eco12369.wsgi import application

schema = schemathesis.openapi.from_wsgi("/open311/v2/openapi.json", application)


@pytest.fixture(autouse=True)
def _reference_data(db: None) -> Iterator[None]:
    tianjin_load()
    # The WSGI handler closes "unusable" connections at the start and end of each request, and a test's
    # open transaction looks unusable: PostgreSQL would really close the connection the test runs in.
    # Django's own test client disconnects the same handler for the same reason.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_open311_conforms_to_its_openapi_document(case: schemathesis.Case) -> None:
    # Rules the document cannot express (a date window of at most 90 days, an existing request id,
    # lat and long together) legitimately turn some schema-valid requests into 400/403/404, each of which
    # is documented; every other check (status codes, content types, bodies, no 5xx) runs.
    case.call_and_validate(excluded_checks=[positive_data_acceptance])
