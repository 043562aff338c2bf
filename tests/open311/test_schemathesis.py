"""Schemathesis: generated requests against every documented Open311 operation must get responses that
match the OpenAPI document (status codes, content types, bodies) and never a server error. POST requests
carries a valid key (the document's api_key security scheme), so the create path really runs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from eco12369.cases.models import Case
from eco12369.open311.models import RequestToken
from eco12369.open311.services import api_key_create
from eco12369.orgs.tianjin import tianjin_load
from eco12369.wsgi import application

schema = schemathesis.openapi.from_wsgi("/open311/v2/openapi.json", application)


@pytest.fixture
def key(db: None) -> str:
    return api_key_create(channel="契约测试")[1]


PLACEHOLDER = "the-running-test-s-key"


@schema.auth(refresh_interval=None).apply_to(method="POST")
class Open311KeyAuth:
    """The document's api_key security scheme. Schemathesis applies auth while it generates the cases, before
    the test (and its database transaction) runs, so the key is put in by the test itself; registered as
    auth, the key counts as valid, and schemathesis checks that the request without it is refused."""

    def get(self, case: schemathesis.Case, ctx: schemathesis.AuthContext) -> str:
        return PLACEHOLDER

    def set(self, case: schemathesis.Case, data: str, ctx: schemathesis.AuthContext) -> None:
        case.query = {**(case.query or {}), "api_key": data}


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
def test_open311_conforms_to_its_openapi_document(case: schemathesis.Case, key: str) -> None:
    # Rules the document cannot express (a date window of at most 90 days, an existing request id,
    # lat and long together) legitimately turn some schema-valid requests into 400/403/404, each of which
    # is documented; every other check (status codes, content types, bodies, no 5xx) runs.
    if (case.query or {}).get("api_key") == PLACEHOLDER:  # not in the cases testing a missing/wrong key
        case.query["api_key"] = key
    response = case.call_and_validate(excluded_checks=[positive_data_acceptance])
    if case.method == "POST" and case.query.get("api_key") == key:
        assert response.status_code != 403, response.text  # the key is taken: the create path runs
        if response.status_code == 200:
            number = response.json()[0]["service_request_id"]
            assert Case.objects.filter(number=number, channel="api").exists()
            assert RequestToken.objects.get(case__number=number).api_key.channel == "契约测试"


def test_the_documented_example_files_a_case(key: str) -> None:
    """The example of POST requests in the document (the first thing schemathesis sends) is accepted."""
    operation = schema["/open311/v2/requests.json"]["POST"]
    case = operation.Case(
        body=operation.definition.raw["requestBody"]["content"]["application/x-www-form-urlencoded"][
            "example"
        ],
        media_type="application/x-www-form-urlencoded",
        query={"api_key": key},
    )
    response = case.call_and_validate()
    assert response.status_code == 200, response.text
    assert Case.objects.filter(number=response.json()[0]["service_request_id"]).exists()
