"""Evaluate the duplicate finder on labelled files of pairs (JSON lines, see ``duplicate_scoring``).

    manage.py duplicates_eval tests/data/duplicates/tune.jsonl                # score each pair
    manage.py duplicates_eval tests/data/duplicates/tune.jsonl --end-to-end   # case_create + duplicates_find
    manage.py duplicates_eval tests/data/duplicates/tune*.jsonl --fit         # refit the weights

One JSON line per pair ``{"id", "verdict", "score", "components"}`` and a last line
``precision=P recall=R f1=F`` scoring the verdict ``duplicate`` against everything else.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from eco12369.cases.models import Case, Channel, State
from eco12369.cases.services import Intake, case_create
from eco12369.orgs.models import Region
from eco12369.oversight.duplicate_scoring import (
    DUPLICATE_THRESHOLD,
    cross_validate,
    fit_weights,
    labelled_pairs,
    leave_one_file_out,
    model_rows,
    nested_cross_validate,
    pair_score,
    prf,
    sketch_from_dict,
)
from eco12369.oversight.duplicates import duplicates_find
from eco12369.oversight.models import DuplicateCandidate

LABELS = ("duplicate", "repeat", "different")


@dataclass
class Outcome:
    id: str
    label: str
    verdict: str
    score: float
    components: dict[str, Any]


def pairs_read(path: Path) -> list[dict[str, Any]]:
    pairs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            pair = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CommandError(f"第{number}行不是有效的JSON：{exc}") from exc
        if (
            pair.get("label") not in LABELS
            or not isinstance(pair.get("a"), dict)
            or not isinstance(pair.get("b"), dict)
        ):
            raise CommandError(f"第{number}行缺少a、b或label（duplicate、repeat、different）。")
        pairs.append(pair)
    return pairs


def figures(outcomes: list[Outcome]) -> tuple[float, float, float]:
    """Precision, recall and F1 of the verdict ``duplicate`` against everything else."""
    tp = sum(1 for o in outcomes if o.verdict == "duplicate" and o.label == "duplicate")
    fp = sum(1 for o in outcomes if o.verdict == "duplicate" and o.label != "duplicate")
    fn = sum(1 for o in outcomes if o.verdict != "duplicate" and o.label == "duplicate")
    return prf(tp, fp, fn)


def score_pairs(pairs: list[dict[str, Any]]) -> list[Outcome]:
    out = []
    for pair in pairs:
        score = pair_score(new=sketch_from_dict(pair["b"]), old=sketch_from_dict(pair["a"]))
        out.append(
            Outcome(str(pair.get("id", "")), pair["label"], score.verdict, score.total, score.components())
        )
    return out


class _Rollback(Exception):
    pass


def _district(value: Any) -> Region | None:
    """The district named (name or code); none given: None, as the H5 form leaves it when not chosen."""
    value = str(value or "").strip()
    if not value:
        return None
    region = Region.objects.filter(level=Region.Level.DISTRICT, code=value).first()
    region = region or Region.objects.filter(level=Region.Level.DISTRICT, name=value).first()
    if region is None:
        raise CommandError(f"未知的区：{value}")
    return region


def _coordinate(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.000001"))


def _create(side: dict[str, Any], *, start: dt.datetime, number: int) -> Case:
    received = start + dt.timedelta(days=float(side.get("days", 0)))
    case = case_create(
        intake=Intake(
            channel=Channel.WECHAT_H5,
            description=str(side.get("description") or "（无内容）"),
            district=_district(side.get("district")),
            reported_party=str(side.get("reported_party") or ""),
            address=str(side.get("address") or ""),
            latitude=_coordinate(side.get("latitude")),
            longitude=_coordinate(side.get("longitude")),
            reporter_openid=f"oDuplicatesEval{number:06d}",
            received_at=received,
        )
    )
    if side.get("closed"):
        # The earlier case was closed before the later report: its state and time of closing, as the
        # finder reads them (the handling steps in between do not matter to it).
        closed = start + dt.timedelta(days=float(side.get("closed_days", side.get("days", 0))))
        Case.objects.filter(pk=case.pk).update(state=State.CLOSED, closed_at=closed)
        case.refresh_from_db()
    return case


def pairs_end_to_end(pairs: list[dict[str, Any]]) -> list[Outcome]:
    """Each pair in its own transaction, rolled back: both cases through ``case_create``, then
    ``duplicates_find`` on the later one; the verdict is what it stored about the earlier one."""
    last = max(float(max(p["a"].get("days", 0), p["b"].get("days", 0))) for p in pairs) if pairs else 0
    start = timezone.now() - dt.timedelta(days=last + 2)
    out = []
    for number, pair in enumerate(pairs):
        try:
            with transaction.atomic():
                a = _create(pair["a"], start=start, number=2 * number)
                duplicates_find(case=a)  # as the task does after a's intake commits (tokenising it)
                b = _create(pair["b"], start=start, number=2 * number + 1)
                found = {c.candidate_id: c for c in duplicates_find(case=b)}
                candidate: DuplicateCandidate | None = found.get(a.pk)
                if candidate is None:
                    outcome = Outcome(str(pair.get("id", "")), pair["label"], "different", 0.0, {})
                else:
                    verdict = candidate.kind if candidate.score >= DUPLICATE_THRESHOLD else "different"
                    components = {
                        "party": candidate.party_score,
                        "place": candidate.place_score,
                        "distance_m": candidate.distance_m,
                        "problem": candidate.problem_score,
                        "text": candidate.text_score,
                        "days": candidate.days,
                    }
                    outcome = Outcome(
                        str(pair.get("id", "")), pair["label"], verdict, candidate.score, components
                    )
                raise _Rollback
        except _Rollback:
            out.append(outcome)
    return out


class Command(BaseCommand):
    help = "在人工标注的举报对（JSON lines）上评估查重：逐对输出结论、得分和各分项，最后一行为准确率、召回率和F1。"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("files", type=Path, nargs="+", metavar="file")
        parser.add_argument(
            "--end-to-end",
            action="store_true",
            help="两件举报都经case_create创建（事务回滚），再运行duplicates_find",
        )
        parser.add_argument(
            "--fit",
            action="store_true",
            help="在这些文件上交叉验证（含逐文件留出）并拟合权重，打印可粘贴的WEIGHTS",
        )

    def handle(self, *args: Any, files: list[Path], end_to_end: bool, fit: bool, **options: Any) -> None:
        for file in files:
            if not file.is_file():
                raise CommandError(f"文件不存在：{file}")
        if fit:
            self._fit([(file.name, pairs_read(file)) for file in files])
            return
        pairs = [pair for file in files for pair in pairs_read(file)]
        outcomes = pairs_end_to_end(pairs) if end_to_end else score_pairs(pairs)
        for o in outcomes:
            line = {"id": o.id, "verdict": o.verdict, "score": round(o.score, 4), "components": o.components}
            self.stdout.write(json.dumps(line, ensure_ascii=False))
        precision, recall, f1 = figures(outcomes)
        self.stdout.write(f"precision={precision:.3f} recall={recall:.3f} f1={f1:.3f}")

    def _fit(self, files: list[tuple[str, list[dict[str, Any]]]]) -> None:
        labelled = [labelled_pairs(pairs) for _, pairs in files]
        rows = [row for pairs in labelled for row in model_rows(pairs)]
        total = sum(len(pairs) for _, pairs in files)
        l2, threshold, f1 = cross_validate(rows)
        nested = nested_cross_validate(rows)
        weights = fit_weights(rows, l2=l2)
        self.stdout.write(
            f"# {len(rows)} of {total} pairs left to the model by the time rules; repeated 5-fold "
            f"cross-validation: l2={l2} threshold={threshold} f1={f1:.4f}; nested f1={nested:.4f}"
        )
        if len(files) > 1:
            counts = leave_one_file_out(labelled)
            for (name, _), (tp, fp, fn) in zip(files, counts, strict=True):
                precision, recall, file_f1 = prf(tp, fp, fn)
                self.stdout.write(
                    f"# leave-one-file-out {name}: precision={precision:.3f} recall={recall:.3f} f1={file_f1:.3f}"
                )
            precision, recall, pooled = prf(*(sum(c[k] for c in counts) for k in range(3)))
            self.stdout.write(
                f"# leave-one-file-out pooled: precision={precision:.3f} recall={recall:.3f} f1={pooled:.3f}"
            )
        self.stdout.write("WEIGHTS: dict[str, float] = {")
        for name, value in weights.items():
            self.stdout.write(f'    "{name}": {value},')
        self.stdout.write("}")
        self.stdout.write(f"DUPLICATE_THRESHOLD = {threshold}")
