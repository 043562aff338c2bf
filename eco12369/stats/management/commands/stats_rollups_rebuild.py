"""``manage.py stats_rollups_rebuild``: count the dashboard's rollups again from the cases (issue 15).

The services keep the rollups up to date; this command is for cases written another way (a bulk load such
as ``bench/seed.py``, a restore) or to check them: ``--check`` compares without writing and exits non-zero
when they differ."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from eco12369.stats.rollups import DAY, GRID, MONTH, rollups_rebuild, rollups_recount, rollups_stored

TABLE_NAMES = {DAY: "每日接收统计", MONTH: "每月接收统计", GRID: "每月位置网格统计"}


class Command(BaseCommand):
    help = "从举报件重新统计首页看板的汇总表（每日接收统计、每月接收统计、每月位置网格统计）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--check", action="store_true", help="只比较，不写入；不一致时以非零状态退出")

    def handle(self, *args: Any, check: bool = False, **options: Any) -> None:
        started = time.monotonic()
        if check:
            expected, stored = rollups_recount(), rollups_stored()
            wrong = {
                t: sum(
                    1 for k in expected[t].keys() | stored[t].keys() if expected[t].get(k) != stored[t].get(k)
                )
                for t in expected
            }
            for table, n in wrong.items():
                self.stdout.write(f"{TABLE_NAMES[table]}：{len(expected[table])} 行，{n} 行不一致")
            if any(wrong.values()):
                raise CommandError("看板汇总表与举报件不一致，请运行 manage.py stats_rollups_rebuild。")
            return

        def progress(table: str, n: int) -> None:
            self.stdout.write(f"\r{TABLE_NAMES[table]}：已写入 {n} 行", ending="")
            self.stdout.flush()

        written = rollups_rebuild(progress=progress if options.get("verbosity", 1) > 0 else None)
        self.stdout.write("")
        self.stdout.write(
            "完成："
            + "，".join(f"{TABLE_NAMES[t]} {n} 行" for t, n in written.items())
            + f"（{time.monotonic() - started:.1f} 秒）"
        )
