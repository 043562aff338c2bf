"""``manage.py retention_erase [--dry-run]``: erase the reporter data of cases past their retention period."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from eco12369.compliance.retention import (
    BATCH,
    ROW_LABELS,
    chat_retention_days,
    retention_days,
    retention_days_by_outcome,
    retention_erase,
)


class Command(BaseCommand):
    help = "删除办结后超过保存期限的举报人个人信息（姓名、电话、微信标识）；--dry-run 只统计、不写入。"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="只按办结月份统计将被删除的举报件数，不做任何写入"
        )
        parser.add_argument(
            "--batch-size", type=int, default=BATCH, help=f"每批处理的举报件数（默认 {BATCH}）"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run: bool = options["dry_run"]
        overrides = retention_days_by_outcome()
        rule = f"保存期限：办结后 {retention_days()} 日"
        if overrides:
            rule += "（" + "，".join(f"{k} {v} 日" for k, v in overrides.items()) + "）"
        self.stdout.write(rule)
        result = retention_erase(
            dry_run=dry_run, batch_size=options["batch_size"], progress=self.stdout.write
        )
        if result.by_month:
            self.stdout.write("办结月份    举报件数")
            for month, count in sorted(result.by_month.items()):
                self.stdout.write(f"{month}     {count}")
        if result.cases:
            rows = "、".join(f"{label} {result.rows[key]} 条" for key, label in ROW_LABELS.items())
            self.stdout.write(f"其中{'将' if dry_run else '已'}清除个人信息的相关记录：{rows}")
        chat = f"未形成举报件的微信来信 {result.chat_messages} 条、未提交的草稿 {result.drafts} 份"
        if dry_run:
            self.stdout.write(
                f"试运行：共 {result.cases} 件举报件的举报人信息到期，将被删除；"
                f"超过 {chat_retention_days()} 日的{chat}将被删除（未做任何写入）。"
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"已删除 {result.cases} 件举报件的举报人信息，共 {result.batches} 批，每批一条审计记录；"
                    f"已删除超过 {chat_retention_days()} 日的{chat}。"
                )
            )
