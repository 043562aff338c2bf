from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from eco12369.audit.services import anchor_file, audit_verify


class Command(BaseCommand):
    help = (
        "校验审计日志的各条哈希链是否完整（发现被篡改、删除、插入或调换顺序的记录，并核对锚点）；"
        "校验通过后把各链链头（条数和摘要）追加到锚点文件。"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--anchor",
            action="store_true",
            help="（保留以兼容 cron 配置）每次校验通过都会写入锚点",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = audit_verify()
        if not report.ok:
            where = f"（记录 #{report.entry_id}）" if report.entry_id else ""
            raise CommandError(f"审计日志校验失败{where}：{report.problem}。已校验 {report.checked} 条。")
        self.stdout.write(
            self.style.SUCCESS(
                f"审计日志完整：共 {report.checked} 条记录（{len(report.heads)} 条链），哈希链校验通过，"
                f"核对锚点 {report.anchors} 个。"
            )
        )
        path = anchor_file()
        where = f"锚点文件 {path}" if path else "应用日志（未设置 ECO_AUDIT_ANCHOR_FILE）"
        self.stdout.write(f"已将各链链头（{report.checked} 条，摘要 {report.last_hash[:12]}…）写入{where}。")
