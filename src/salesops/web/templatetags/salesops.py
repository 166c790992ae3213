"""Template helpers: money in the company's currency, unit (元/万元) and rounding policy; percentages."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils.translation import gettext as _

from salesops.engine.money import RoundingPolicy, format_money, round_money

register = template.Library()


def money_text(value, company) -> str:
    if value is None or value == "":
        return "—"
    return format_money(Decimal(value), symbol=company.currency_symbol, unit=company.display_unit,
                        policy=company.rounding_policy, wan_label=_(" ×10k"))


@register.simple_tag(takes_context=True)
def money(context, value) -> str:
    return money_text(value, context["company"])


def pct_text(value, places: int = 1) -> str:
    """A fraction as a percentage, rounded half up (四舍五入) like every displayed figure."""
    if value is None or value == "":
        return "—"
    return f"{round_money(Decimal(value) * 100, RoundingPolicy.HALF_UP, Decimal(1).scaleb(-int(places)))}%"


@register.filter
def pct(value, places: int = 1) -> str:
    return pct_text(value, places)


@register.filter
def get_item(mapping, key):
    """``mapping[key]`` in a template (None when absent)."""
    return mapping.get(key) if mapping is not None else None
