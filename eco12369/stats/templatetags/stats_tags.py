"""Number formatting for the report pages, the PDF and the disclosure page."""

from __future__ import annotations

from django import template

from eco12369.cases.public import scrub
from eco12369.stats import kpis

register = template.Library()

DASH = "—"


@register.filter
def num(value: object, unit: str = "") -> str:
    """12 → "12", 87.5 → "87.5", None → "—"; with a unit: 87.5|num:"%" → "87.5%"."""
    if value is None or value == "":
        return DASH
    if isinstance(value, float):
        text = f"{value:.1f}"
    else:
        text = str(value)
    return f"{text}{unit}"


@register.filter
def signed(value: object, unit: str = "") -> str:
    """A change: +3, -2.5, 0, or "—" when it cannot be computed."""
    if value is None or not isinstance(value, int | float):
        return DASH
    text = (
        f"{value:+.1f}" if isinstance(value, float) and not float(value).is_integer() else f"{int(value):+d}"
    )
    if value == 0:
        text = "0"
    return f"{text}{unit}"


@register.filter
def share(count: object, total: object) -> str:
    """count as a percentage of total, one decimal."""
    if not isinstance(count, int | float) or not isinstance(total, int | float) or not total:
        return DASH
    return f"{100.0 * count / total:.1f}%"


@register.filter(name="scrub")
def scrub_filter(text: object) -> str:
    """Free text for the public page with phone and ID-card numbers removed."""
    return scrub(str(text or ""))


@register.filter
def kpi_definition(key: object) -> str:
    """The definition of a KPI (``stats.kpis``) by its assessment or report key, for a title or footnote."""
    return kpis.definition(str(key))


@register.simple_tag
def kpi_list(keys: object) -> list[kpis.Kpi]:
    """The KPIs of ``keys`` (a list, or a space-separated string), in that order; unknown keys skipped."""
    names = keys.split() if isinstance(keys, str) else list(keys or [])  # type: ignore[call-overload]
    found = (kpis.BY_KEY.get(str(k)) or kpis.REPORT_KEYS.get(str(k)) for k in names)
    return [k for k in found if k is not None]
