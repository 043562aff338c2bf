from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from eco12369.workbench.alerts import alerts_scan, digest_send


class Command(BaseCommand):
    help = "立即发送每日通知邮件摘要（先扫描即将到期、已超期和督办提醒），每人一封。"

    def handle(self, *args: Any, **options: Any) -> None:
        created = alerts_scan()
        sent = digest_send()
        self.stdout.write(self.style.SUCCESS(f"新提醒 {created} 条；已发送邮件摘要 {sent} 封。"))
