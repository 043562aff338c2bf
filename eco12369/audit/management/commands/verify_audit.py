from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from eco12369.audit.services import audit_verify


class Command(BaseCommand):
    help = "校验审计日志哈希链是否完整（发现被篡改、删除或插入的记录）。"

    def handle(self, *args: Any, **options: Any) -> None:
        report = audit_verify()
        if not report.ok:
            where = f"（记录 #{report.entry_id}）" if report.entry_id else ""
            raise CommandError(f"审计日志校验失败{where}：{report.problem}。已校验 {report.checked} 条。")
        self.stdout.write(self.style.SUCCESS(f"审计日志完整：共 {report.checked} 条记录，哈希链校验通过。"))
