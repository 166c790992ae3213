"""Template helpers: money in the company's currency, unit (元/万元) and rounding policy; percentages."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils.translation import gettext as _

from salesops.engine.money import format_money

register = template.Library()


def money_text(value, company) -> str:
    if value is None or value == "":
        return "—"
    return format_money(Decimal(value), symbol=company.currency_symbol, unit=company.display_unit,
                        policy=company.rounding_policy, wan_label=_(" ×10k"))


@register.simple_tag(takes_context=True)
def money(context, value) -> str:
    return money_text(value, context["company"])


@register.filter
def pct(value, places: int = 1) -> str:
    if value is None:
        return "—"
    return f"{Decimal(value) * 100:.{int(places)}f}%"
