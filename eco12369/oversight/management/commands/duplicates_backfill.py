"""Write the missing duplicate-finder fingerprints and look-up bigrams (cases created with bulk_create or
before the app); ``--refresh`` rewrites them for every case (after the normalisation changed). Safe while the
platform runs: each batch reads its cases inside its transaction with their rows locked, so an edit of a
case's party or address waits for the batch or comes after it, never under it. Prints its progress."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from eco12369.cases.models import Case
from eco12369.oversight.duplicates import case_grams, fingerprint_values
from eco12369.oversight.models import CaseFingerprint, CaseGram


class Command(BaseCommand):
    help = "为缺少查重特征的举报件补写特征（被举报对象规范化名称、街道、地理网格、查重字串）；--refresh 全部重写。"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch", type=int, default=2000)
        parser.add_argument("--refresh", action="store_true", help="重写所有举报件的查重特征")

    def handle(self, *args: Any, batch: int, refresh: bool, **options: Any) -> None:
        cases = Case.objects.order_by("pk")
        if not refresh:
            cases = cases.filter(fingerprint__isnull=True)
        total = cases.count()
        written, last, started = 0, 0, time.monotonic()
        while True:
            with transaction.atomic():
                rows = list(
                    cases.filter(pk__gt=last)
                    .select_for_update(of=("self",))
                    .values("pk", "reported_party", "address", "latitude", "longitude", "received_at")[:batch]
                )
                if not rows:
                    break
                last = rows[-1]["pk"]
                ids = [row["pk"] for row in rows]
                if refresh:
                    CaseFingerprint.objects.filter(case_id__in=ids).delete()
                CaseGram.objects.filter(case_id__in=ids).delete()
                CaseFingerprint.objects.bulk_create(
                    [
                        CaseFingerprint(
                            case_id=row["pk"],
                            received_at=row["received_at"],
                            **fingerprint_values(
                                reported_party=row["reported_party"],
                                address=row["address"],
                                latitude=row["latitude"],
                                longitude=row["longitude"],
                            ),
                        )
                        for row in rows
                    ]
                )
                CaseGram.objects.bulk_create(
                    [
                        gram
                        for row in rows
                        for gram in case_grams(
                            case_id=row["pk"],
                            reported_party=row["reported_party"],
                            address=row["address"],
                            received_at=row["received_at"],
                        )
                    ]
                )
            written += len(rows)
            elapsed = time.monotonic() - started
            left = elapsed / written * max(total - written, 0)
            self.stderr.write(f"进度：{written}/{total}件，已用{elapsed:.0f}秒，约剩{left:.0f}秒")
        self.stdout.write(f"已补写{written}件举报件的查重特征。")
