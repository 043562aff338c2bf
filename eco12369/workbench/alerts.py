"""The staff notification centre: creating notifications (respecting each person's choices), the unread
count, and the periodic scan that alerts the people holding a case when it is due soon, overdue, or under a
supervision order (once per person, case and kind)."""

from __future__ import annotations

import datetime as dt
import logging

import requests
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from eco12369.cases.models import OPEN_STATES, Case, CaseEvent, State, SupervisionOrder
from eco12369.cases.selectors import CASE_ROLES
from eco12369.orgs.models import Role, User

from .models import AgencyAlertChannel, CaseNote, NotificationKind, NotificationPreference, StaffNotification

log = logging.getLogger(__name__)

CONFIRM_STATES = (State.RECEIVED, State.ESCALATED)


def muted_kinds(user: User) -> set[str]:
    pref = NotificationPreference.objects.filter(user=user).first()
    return set(pref.muted_kinds) if pref else set()


def preferences_save(pref: NotificationPreference, *, kinds: list[str], email_digest: bool) -> None:
    """Keep the kinds chosen (unknown values ignored); the others are muted."""
    chosen = set(kinds)
    pref.muted_kinds = [k for k in NotificationKind.values if k not in chosen]
    pref.email_digest = email_digest
    pref.save(update_fields=["muted_kinds", "email_digest"])


def notify(
    *,
    recipient: User,
    kind: str,
    text: str,
    case: Case | None = None,
    note: CaseNote | None = None,
    key: str = "",
    now: dt.datetime | None = None,
) -> StaffNotification | None:
    """One notification, unless the person muted its kind or (with ``key``) already has it for the case."""
    if kind in muted_kinds(recipient):
        return None
    if key and StaffNotification.objects.filter(recipient=recipient, case=case, key=key).exists():
        return None
    try:
        with transaction.atomic():
            return StaffNotification.objects.create(
                recipient=recipient,
                kind=kind,
                case=case,
                note=note,
                key=key,
                text=text[:300],
                created_at=now or timezone.now(),
            )
    except IntegrityError:  # a concurrent scan wrote the same alert first
        return None


def notifications_of(*, user: User) -> QuerySet[StaffNotification]:
    return StaffNotification.objects.filter(recipient=user).select_related("case")


def unread_count(*, user: User) -> int:
    return StaffNotification.objects.filter(recipient=user, read_at__isnull=True).count()


def mark_read(*, user: User, pk: int | None = None) -> int:
    qs = StaffNotification.objects.filter(recipient=user, read_at__isnull=True)
    if pk is not None:
        qs = qs.filter(pk=pk)
    return qs.update(read_at=timezone.now())


def wecom_post(*, agency_id: int, text: str) -> bool:
    """Post ``text`` to the agency's WeCom group robot (its JSON protocol: msgtype text; errcode 0 is
    success). Failures are logged and never block the alert."""
    channel = AgencyAlertChannel.objects.filter(agency_id=agency_id).exclude(wecom_webhook="").first()
    if channel is None:
        return False
    try:
        response = requests.post(
            channel.wecom_webhook, json={"msgtype": "text", "text": {"content": text}}, timeout=5
        )
        body = response.json()
        if response.status_code != 200 or body.get("errcode") != 0:
            log.warning("WeCom webhook of agency %s refused: %s %s", agency_id, response.status_code, body)
            return False
    except (requests.RequestException, ValueError) as exc:
        log.warning("WeCom webhook of agency %s failed: %s", agency_id, exc)
        return False
    return True


def _alert(*, case: Case, people: QuerySet[User], kind: str, key: str, text: str, now: dt.datetime) -> int:
    """The alert to each person holding the case, once; the agency's WeCom group hears of it once too."""
    created = sum(
        notify(recipient=p, kind=kind, case=case, key=key, text=text, now=now) is not None for p in people
    )
    if created:
        wecom_post(agency_id=case.agency_id, text=text)
    return created


def case_holders(case: Case) -> QuerySet[User]:
    """Who must act on ``case`` now: the owning agency's operators while it awaits confirmation or
    assignment (also after a 退单); its
    department's handlers (or, with no department yet, the agency's case staff) while it is handled; the
    agency's reviewers while a reply awaits review."""
    staff = User.objects.filter(is_active=True, agency_id=case.agency_id)
    if case.state in CONFIRM_STATES or (case.state == State.ACCEPTED and not case.department_id):
        return staff.filter(roles__role=Role.OPERATOR).distinct()
    if case.state == State.IN_REVIEW:
        return staff.filter(roles__role=Role.REVIEWER).distinct()
    if case.department_id:
        return staff.filter(department_id=case.department_id, roles__role=Role.HANDLER).distinct()
    return staff.filter(roles__role__in=CASE_ROLES).distinct()


def _stage(case: Case) -> tuple[str, str]:
    return ("confirm", "确认") if case.state in CONFIRM_STATES else ("close", "办结")


RETURNED_LOOKBACK = dt.timedelta(days=7)


def alerts_scan(*, now: dt.datetime | None = None) -> int:
    """Create the due-soon, overdue, supervision and returned-case (退单) alerts not yet given; returns how
    many were created."""
    now = now or timezone.now()
    created = 0
    open_cases = Case.objects.filter(state__in=OPEN_STATES, due_at__isnull=False)
    due = open_cases.filter(Q(due_at__lt=now) | Q(warn_at__lte=now)).select_related("agency")
    for case in due.iterator():
        stage, label = _stage(case)
        overdue = case.due_at is not None and case.due_at < now
        kind = NotificationKind.OVERDUE if overdue else NotificationKind.DUE_SOON
        text = (
            f"举报件 {case.number} 已超过{label}期限"
            if overdue
            else f"举报件 {case.number} 即将到达{label}期限（{timezone.localtime(case.due_at):%m月%d日 %H:%M}）"
        )
        created += _alert(
            case=case, people=case_holders(case), kind=kind, key=f"{kind}:{stage}", text=text, now=now
        )
    orders = SupervisionOrder.objects.filter(answered_at__isnull=True, case__state__in=OPEN_STATES)
    for order in orders.select_related("case").iterator():
        people = User.objects.filter(
            is_active=True, agency_id=order.case.agency_id, roles__role__in=CASE_ROLES
        ).distinct()
        text = f"举报件 {order.case.number} 收到督办，请于 {order.answer_due:%m月%d日} 前回复"
        created += _alert(
            case=order.case,
            people=people,
            kind=NotificationKind.SUPERVISION,
            key=f"supervision:{order.pk}",
            text=text,
            now=now,
        )
    # 退单: the department sent the case back to the bureau's operators (the workflow's send_back event).
    returns = CaseEvent.objects.filter(
        action="send_back", at__gte=now - RETURNED_LOOKBACK, case__state__in=OPEN_STATES
    ).select_related("case")
    for event in returns.iterator():
        who = str(event.data.get("department") or "承办部门")
        text = f"举报件 {event.case.number} 被{who}退单，请重新批转"
        created += _alert(
            case=event.case,
            people=case_holders(event.case),
            kind=NotificationKind.RETURNED,
            key=f"returned:{event.pk}",
            text=text,
            now=now,
        )
    return created


def digest_send(*, now: dt.datetime | None = None) -> int:
    """The daily e-mail digest: to each active person with an address who wants it, the notifications not yet
    sent by e-mail and still unread, one message per person; marks them sent. Returns the messages sent."""
    now = now or timezone.now()
    pending = StaffNotification.objects.filter(emailed_at__isnull=True, read_at__isnull=True)
    people = (
        User.objects.filter(is_active=True, staff_notifications__in=pending)
        .exclude(email="")
        .exclude(notification_preference__email_digest=False)
        .distinct()
    )
    site = settings.WECHAT["SITE_URL"].rstrip("/")
    sent = 0
    with get_connection() as connection:
        for person in people:
            items = list(pending.filter(recipient=person).select_related("case").order_by("created_at", "id"))
            if not items:
                continue
            lines = [
                f"{person.display_name or person.username}，您好：",
                "",
                f"您有 {len(items)} 条未读通知：",
                "",
            ]
            for n in items:
                when = timezone.localtime(n.created_at).strftime("%m-%d %H:%M")
                lines.append(f"· [{n.get_kind_display()}] {n.text}（{when}）")
                if n.case is not None:
                    lines.append(f"  {site}/cases/{n.case.number}/")
            lines += [
                "",
                f"全部通知：{site}/notifications/",
                f"不想收到此邮件：{site}/notifications/settings/",
            ]
            message = EmailMessage(
                subject=f"12369 工作台每日通知摘要（{len(items)} 条未读）",
                body="\n".join(lines),
                to=[person.email],
                connection=connection,
            )
            message.send()
            StaffNotification.objects.filter(pk__in=[n.pk for n in items]).update(emailed_at=now)
            sent += 1
    return sent
