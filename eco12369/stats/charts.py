"""Tiny server-side SVG charts for the staff pages and the PDF (which has no JavaScript).

Horizontal bars suit Chinese category labels (they stay readable at any length). The output is plain
SVG markup with every text escaped; fonts are named so that WeasyPrint picks the installed CJK font.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from django.utils.safestring import SafeString, mark_safe

FONT = "'Noto Sans CJK SC','WenQuanYi Micro Hei','Source Han Sans SC','Microsoft YaHei',sans-serif"
PALETTE = ("#2e7d5b", "#3f72af", "#e0a030", "#c8553d", "#7b5ea7", "#4d9aa8", "#8a8f98")


def _text_width(text: str, size: float) -> float:
    """Rough rendered width: CJK characters are square, others about half as wide."""
    return sum(size if ord(ch) > 0x2E80 else size * 0.58 for ch in text)


def _fmt(value: float) -> str:
    return f"{value:.1f}" if isinstance(value, float) and not value.is_integer() else f"{int(value)}"


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]
    color: str = PALETTE[0]


def bar_chart(
    rows: Sequence[tuple[str, float]],
    *,
    title: str = "",
    width: int = 400,
    unit: str = "",
    color: str = PALETTE[0],
) -> SafeString:
    """One horizontal bar per (label, value)."""
    return grouped_bar_chart(
        [label for label, _ in rows],
        [Series("", [v for _, v in rows], color)],
        title=title,
        width=width,
        unit=unit,
    )


def grouped_bar_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str = "",
    width: int = 400,
    unit: str = "",
    bar: int = 14,
) -> SafeString:
    """Horizontal bars, one group per label and one bar per series, with a legend when there are several."""
    size = 12.0
    pad = 8
    label_w = max([_text_width(lab, size) for lab in labels] + [24]) + 10
    value_w = max(
        [_text_width(_fmt(v) + unit, size - 1) for s in series for v in s.values] + [_text_width("0", size)]
    )
    plot_w = max(width - label_w - value_w - 2 * pad - 6, 60)
    top = pad + (22 if title else 0) + (20 if len(series) > 1 else 0)
    group_h = bar * len(series) + 2 * (len(series) - 1) + 10
    height = top + group_h * max(len(labels), 1) + pad
    highest = max([v for s in series for v in s.values] + [0]) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="stats-chart" width="{width}" height="{height:.0f}" '
        f'viewBox="0 0 {width} {height:.0f}" role="img" aria-label="{escape(title)}" '
        f'font-family="{FONT}" font-size="{size:.0f}">'
    ]
    if title:
        parts.append(
            f'<text x="{pad}" y="{pad + 14}" font-size="14" font-weight="bold" fill="#1f2933">{escape(title)}</text>'
        )
    if len(series) > 1:
        x: float = pad
        y = pad + (22 if title else 0) + 12
        for s in series:
            parts.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" rx="2" fill="{s.color}"/>')
            parts.append(f'<text x="{x + 14}" y="{y}" fill="#3e4c59">{escape(s.name)}</text>')
            x += 14 + _text_width(s.name, size) + 16
    x0 = pad + label_w
    parts.append(
        f'<line x1="{x0}" y1="{top - 4}" x2="{x0}" y2="{height - pad + 2:.0f}" stroke="#9aa5b1" stroke-width="1"/>'
    )
    for i, label in enumerate(labels):
        gy = top + i * group_h
        mid = gy + (group_h - 10) / 2
        parts.append(
            f'<text x="{x0 - 8}" y="{mid + size * 0.36:.1f}" text-anchor="end" fill="#3e4c59">{escape(label)}</text>'
        )
        for j, s in enumerate(series):
            value = s.values[i] if i < len(s.values) else 0
            w = plot_w * value / highest
            y = gy + j * (bar + 2)
            parts.append(f'<rect x="{x0}" y="{y}" width="{w:.1f}" height="{bar}" rx="2" fill="{s.color}"/>')
            if value or len(series) == 1:
                parts.append(
                    f'<text x="{x0 + w + 4:.1f}" y="{y + bar * 0.78:.1f}" font-size="{size - 1:.0f}" '
                    f'fill="#52606d">{escape(_fmt(value) + unit)}</text>'
                )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text above is escaped
