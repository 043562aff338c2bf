"""``manage.py load_demo``: Tianjin's reference data, demo logins and demo cases with real histories."""

from __future__ import annotations

import time
from argparse import ArgumentParser
from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from eco12369.cases.models import State
from eco12369.demo.services import DemoResetRefused, demo_load, demo_logins, logins_table


class Command(BaseCommand):
    help = "载入天津市演示数据：16个区及其机构、演示账号、带真实办理过程的演示举报件。"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--cases", type=int, default=200, help="演示举报件数量（默认 200）")
        parser.add_argument(
            "--seed", type=int, default=12369, help="随机种子，相同种子生成相同数据（默认 12369）"
        )
        parser.add_argument("--reset", action="store_true", help="先清除已有举报件并恢复演示账号，再重新生成")

    def handle(self, *args: Any, **options: Any) -> None:
        count: int = options["cases"]
        if count < 0:
            raise CommandError("--cases 不能为负数。")
        started = time.monotonic()

        def progress(done: int, total: int) -> None:
            self.stdout.write(f"生成举报件 {done}/{total}…")

        try:
            result = demo_load(cases=count, seed=options["seed"], reset=options["reset"], progress=progress)
        except DemoResetRefused as exc:
            raise CommandError(exc.message) from exc
        if options["reset"]:
            self.stdout.write("已清除原有举报件，演示账号已恢复为初始状态。")
        if result.created and result.summary is not None:
            states = "，".join(f"{label} {n}" for label, n in _state_labels(result.summary.states))
            detail = f"（{states}）" if states else ""
            elapsed = time.monotonic() - started
            self.stdout.write(
                self.style.SUCCESS(
                    f"已生成 {result.summary.cases} 件演示举报件{detail}，用时 {elapsed:.1f} 秒。"
                )
            )
        else:
            self.stdout.write("演示数据已存在，未重复生成（如需重新生成，请加 --reset）。")
        self.stdout.write("")
        self.stdout.write("演示账号（所有账号密码相同）：")
        self.stdout.write(logins_table(demo_logins()))


def _state_labels(states: Counter[str]) -> list[tuple[str, int]]:
    return [(str(State(s).label), states[s]) for s in State.values if states.get(s)]
