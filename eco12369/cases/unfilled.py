"""The ``【请填写：…】`` marker a reply template leaves for a value the case does not know yet, and the rule
that a text still carrying one is not finished: it can be neither submitted nor approved, and it never
reaches the reporter (Art. 16 of docs/regulation.zh.txt: only reviewed, finished answers go out).

The rule lives here, in ``cases``, because the workflow enforces it; the reply templates
(``followup.templating``) fill texts with the same ``MISSING`` marker."""

from __future__ import annotations

import re

__all__ = ["MISSING", "MISSING_MARKER", "unfilled_markers", "unfilled_refusal"]

MISSING = "【请填写：{name}】"
# A ``MISSING`` marker still in a text (whatever name the handler left in it): a reply containing one is
# not finished and can be neither submitted nor approved (``cases.services``, ``cases.workflow``), and
# the reply templates (``followup.templating``) write it for a value the case does not know yet.
_BEFORE, _AFTER = MISSING.split("{name}")
MISSING_MARKER = re.compile(re.escape(_BEFORE) + r"[^】]*" + re.escape(_AFTER))


def unfilled_markers(text: str) -> list[str]:
    """The ``【请填写：…】`` markers left in ``text``, each once, in order (empty: none)."""
    return list(dict.fromkeys(MISSING_MARKER.findall(text or "")))


def unfilled_refusal(texts: dict[str, str], *, ending: str = "请补充实际情况后再提交。") -> str | None:
    """Why a reply whose parts (label → text) still carry template markers cannot go on, naming each part
    and marker, e.g. “现场检查及核实情况”中的“【请填写：检查日期】”; None: no marker left."""
    where = [
        f"“{label}”中的" + "、".join(f"“{m}”" for m in markers)
        for label, text in texts.items()
        if (markers := unfilled_markers(text))
    ]
    if not where:
        return None
    return f"答复意见中还有未填写的模板内容：{'；'.join(where)}。{ending}"
