"""Write the missing duplicate-finder fingerprints (cases created with bulk_create or before the app)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from eco12369.cases.models import Case
from eco12369.oversight.duplicates import fingerprint_values
from eco12369.oversight.models import CaseFingerprint


class Command(BaseCommand):
    help = "为缺少查重特征的举报件补写特征（被举报对象规范化名称、地理网格）。"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch", type=int, default=2000)

    def handle(self, *args: Any, batch: int, **options: Any) -> None:
        missing = Case.objects.filter(fingerprint__isnull=True).order_by("pk")
        written = 0
        while True:
            rows = list(
                missing.values("pk", "reported_party", "address", "latitude", "longitude", "received_at")[
                    :batch
                ]
            )
            if not rows:
                break
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
                ],
                ignore_conflicts=True,
            )
            written += len(rows)
        self.stdout.write(f"已补写{written}件举报件的查重特征。")
