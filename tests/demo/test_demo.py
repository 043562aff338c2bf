"""``manage.py load_demo``: demo logins that work, and demo cases in every state with real histories."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from eco12369.cases.models import Case, CaseEvent, Outcome, Reply, State, SupervisionOrder
from eco12369.cases.services import case_accept
from eco12369.demo.services import DEMO_PASSWORD
from eco12369.orgs.models import Agency, Region, Role, User

pytestmark = pytest.mark.django_db

MAIN = {"city": None, "heping": "和平区", "binhai": "滨海新区"}
CASE_ROLES = (Role.OPERATOR, Role.HANDLER, Role.REVIEWER, Role.HEAD)


def load(**options: object) -> str:
    out = io.StringIO()
    call_command("load_demo", stdout=out, **options)
    return out.getvalue()


def logs_in(username: str) -> bool:
    client = Client()
    response = client.post(reverse("workbench:login"), {"username": username, "password": DEMO_PASSWORD})
    return response.status_code == 302 and client.session.get("_auth_user_id") == str(
        User.objects.get(username=username).pk
    )


def test_load_demo_creates_working_logins_and_cases_in_every_state() -> None:
    output = load(cases=60)
    now = timezone.now()

    # Reference data: 16 districts, each with its bureau.
    assert Region.objects.filter(level=Region.Level.DISTRICT).count() == 16
    assert Agency.objects.filter(kind=Agency.Kind.DISTRICT_BUREAU).count() == 16

    # Every case role at the city centre and the two main districts, and each of them can sign in.
    for prefix, district in MAIN.items():
        for role in CASE_ROLES:
            user = User.objects.get(username=f"{prefix}_{role}")
            assert user.has_role(role)
            assert user.display_name
            if district is None:
                assert user.is_city_centre
            else:
                assert user.agency is not None and user.agency.region.name == district
            assert logs_in(user.username), user.username
    assert User.objects.get(username="city_handler").department is not None
    sysadmin = User.objects.get(username="sysadmin")
    assert sysadmin.role_set == {Role.ADMIN} and sysadmin.is_city_centre
    assert User.objects.get(username="auditor").role_set == {Role.AUDITOR}
    assert logs_in("sysadmin") and logs_in("auditor")
    assert not Client().login(username="heping_operator", password="wrong-password")

    # The logins table is printed with its Chinese headers and every demo account.
    for header in ("账号", "密码", "姓名", "机构", "角色"):
        assert header in output
    assert "heping_operator" in output and "sysadmin" in output and DEMO_PASSWORD in output
    assert "生成举报件 60/60…" in output

    # Cases in every state of the state machine, in all 16 districts, with deadlines that have run.
    assert Case.objects.count() == 60
    states = set(Case.objects.values_list("state", flat=True))
    assert states == set(State.values)
    assert Case.objects.values("region").distinct().count() == 16
    outcomes = set(Case.objects.filter(state=State.CLOSED).values_list("outcome", flat=True))
    assert outcomes == set(Outcome.values)
    open_cases = Case.objects.exclude(state=State.CLOSED)
    assert open_cases.filter(due_at__lt=now).exists(), "some cases are overdue"
    assert open_cases.filter(warn_at__lte=now, due_at__gt=now).exists(), "some cases are due soon"
    assert open_cases.filter(state=State.RECEIVED, due_at__gt=now).exists(), "some are within confirmation"
    overdue_handling = open_cases.filter(state=State.HANDLING, extension_days=0, close_due__lt=now)
    assert overdue_handling.exists(), "some are still handled past the 60 days"
    assert Case.objects.filter(extension_days__gt=0).exists()
    assert SupervisionOrder.objects.filter(answered_at__isnull=False).exists()
    assert SupervisionOrder.objects.filter(answered_at__isnull=True).exists()
    assert Reply.objects.filter(status=Reply.Status.RETURNED).exists()
    assert Case.objects.filter(received_at__lt=now - dt.timedelta(days=60)).exists()
    assert not CaseEvent.objects.filter(at__gt=now).exists(), "nothing happens in the future"
    # Case numbers carry the day of receipt.
    for case in Case.objects.all()[:20]:
        assert f"{timezone.localtime(case.received_at):%Y%m%d}" in case.number

    # Every case closed as handled has an approved reply with all five parts (Art. 10).
    handled = Case.objects.filter(state=State.CLOSED, outcome=Outcome.HANDLED)
    assert handled.exists()
    for case in handled:
        reply = case.replies.get(status=Reply.Status.APPROVED)
        assert reply.kind == Reply.Kind.HANDLING
        for part in Reply.FIVE_PARTS:
            assert getattr(reply, part).strip(), (case.number, part)
        assert reply.reviewed_by is not None and reply.reviewed_by != reply.drafted_by
        # Art. 13, 17: a public summary of its own, without the reporter; the reply (seen by reviewers and
        # the city centre) does not name the reporter either.
        assert case.public_summary.startswith("反映") and case.public_summary == reply.public_summary
        if case.reporter_name:
            assert case.reporter_name not in case.public_summary + reply.communication, case.number
            assert case.reporter_phone not in case.public_summary + reply.communication, case.number
    answered_or_handed_over = Case.objects.filter(outcome__in=(Outcome.ANSWERED, Outcome.HANDED_OVER))
    assert answered_or_handed_over.exists()
    assert not answered_or_handed_over.filter(public_summary="").exists()


def test_load_demo_twice_does_not_duplicate() -> None:
    load(cases=5)
    users, cases = User.objects.count(), Case.objects.count()
    output = load(cases=5)
    assert User.objects.count() == users
    assert Case.objects.count() == cases == 5
    assert "演示数据已存在" in output and "heping_operator" in output


def test_reset_wipes_cases_and_restores_the_demo_accounts() -> None:
    load(cases=8)
    first = set(Case.objects.values_list("number", flat=True))
    assert logs_in("heping_operator")  # the sign-in is recorded in the append-only audit trail
    reviewer = User.objects.get(username="heping_reviewer")
    reviewer.set_password("Changed-by-someone-1!")
    reviewer.is_active = False
    reviewer.save()
    reviewer.roles.all().delete()

    output = load(cases=5, reset=True)

    assert "已清除" in output
    assert Case.objects.count() == 5
    assert len(first) == 8
    assert User.objects.filter(username="heping_operator").count() == 1
    assert logs_in("heping_operator")
    reviewer = User.objects.get(username="heping_reviewer")
    assert reviewer.is_active and reviewer.role_set == {Role.REVIEWER}
    assert logs_in("heping_reviewer")


def test_same_seed_same_demo() -> None:
    load(cases=8, seed=7)
    fields = ("kind", "category", "region__name", "reported_party", "description", "reporter_name")
    first = list(Case.objects.order_by("received_at").values_list(*fields))
    load(cases=8, seed=7, reset=True)
    assert list(Case.objects.order_by("received_at").values_list(*fields)) == first
    load(cases=8, seed=8, reset=True)
    assert list(Case.objects.order_by("received_at").values_list(*fields)) != first


def test_reset_refuses_a_database_with_real_work(
    make_user: Callable[..., User], make_case: Callable[..., Case]
) -> None:
    operator = make_user("operator", username="real_operator")
    case_accept(case=make_case(), actor=operator)
    with pytest.raises(CommandError, match="不是演示数据"):
        load(cases=5, reset=True)
    assert Case.objects.count() == 1


@pytest.mark.django_db
def test_demo_publishes_monthly_reports(client) -> None:
    from eco12369.stats.models import MonthlyReport

    call_command("load_demo", cases=30, stdout=io.StringIO())
    published = MonthlyReport.objects.filter(status__in=["approved", "submitted"])
    assert published.filter(region__name="和平区").count() == 2
    assert published.filter(region__level="city").count() == 2
    index = client.get("/disclosure/")
    assert index.status_code == 200 and f"{timezone.localdate().year}年" in index.content.decode()


@pytest.mark.django_db
def test_demo_has_guidance_notices_and_a_commendation(client) -> None:
    """The 业务指导 and 表彰与惩处 pages show something to a new user of the demo (Art. 14, 18)."""
    from eco12369.orgs.models import User

    call_command("load_demo", cases=30, stdout=io.StringIO())
    client.force_login(User.objects.get(username="hedong_operator"))
    listing = client.get("/oversight/guidance/").content.decode()
    assert "答复意见“五要素”" in listing and "夜间施工噪声" not in listing  # that one is for two districts
    client.force_login(User.objects.get(username="heping_handler"))
    mine = client.get("/oversight/my-merits/")
    assert mine.status_code == 200 and "抽查得分全区第一" in mine.content.decode()
    client.force_login(User.objects.get(username="city_operator"))
    assert "夜间施工噪声" in client.get("/oversight/guidance/").content.decode()
    call_command("load_demo", cases=30, stdout=io.StringIO())  # loading again adds nothing
    assert client.get("/oversight/guidance/").content.decode().count("夜间施工噪声") == 1
