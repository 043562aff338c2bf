"""The hand-written duplicate corpus (tests/data/duplicates/README.md), named once for the tests that read it."""

from __future__ import annotations

from pathlib import Path

CORPUS = Path(__file__).resolve().parents[1] / "data" / "duplicates"
# The tuning corpus: twelve files written apart, by different writers. The held-out files are never read
# by the tests: they are evaluated once, by hand, with ``manage.py duplicates_eval``.
TUNE = [
    CORPUS / f"{name}.jsonl"
    for name in (
        "tune",
        "tune_h",
        "tune_b",
        "tune_c",
        "tune_d",
        "tune_e",
        "tune_f",
        "tune_g",
        "tune_i",
        "tune_j",
        "tune_k",
        "tune_l",
    )
]
