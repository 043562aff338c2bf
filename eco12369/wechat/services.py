"""Outbox writes. Delivery (Huey task, channel choice, retries, sweep) lives in ``delivery.py``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .models import OutboxMessage

if TYPE_CHECKING:
    from eco12369.cases.models import Case, Reply


def outbox_write(*, case: Case | None, template: str, text: str, reply: Reply | None = None, openid: str = "") -> OutboxMessage:
    """Queue a message to the case's reporter. Call inside the transaction of the change that causes it.

    Only fixed templates (``cases.notices``) and replies a reviewer approved come here (Art. 11, 16).
    """
    recipient = openid or (case.reporter_openid if case is not None else "")
    if not recipient:
        raise ValueError("outbox_write needs a recipient openid")
    if reply is not None and reply.status != reply.Status.APPROVED:
        raise ValueError("only an approved reply may reach a reporter")
    return OutboxMessage.objects.create(case=case, reply=reply, openid=recipient, template=template, text=text)
