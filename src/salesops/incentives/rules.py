"""The engine's rule labels (``attainment 100%–150%``, ``clawback of 2026-01 sales``…) in the user's language.

The engine (``salesops.engine.comp.calc``) names each detail row with an English label from a closed set: a band,
a rate-table row, a cap, a gate and so on, possibly followed by a qualifier (``(before 2026-03-01)``,
``(per transaction)``, ``(interpolated)``). Stored runs keep that label; pages show it through :func:`rule_text`,
which recognises each form and renders its translated template with the same values. A label it does not know
(a form added to the engine and not here) is shown as it is — and a test fails, listing it.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

_FORMS = [
    (re.compile(r"^(attainment|amount) (?P<low>[^–+ ]+)–(?P<high>\S+)$"), None),
    (re.compile(r"^(attainment|amount) (?P<low>[^–+ ]+)\+$"), None),
    (re.compile(r"^product (?P<code>.+)$"), gettext_lazy("product %(code)s")),
    (re.compile(r"^category (?P<code>.+)$"), gettext_lazy("category %(code)s")),
    (re.compile(r"^clawback: (?P<rule>.+)$"), gettext_lazy("clawback: %(rule)s")),
    (re.compile(r"^clawback of (?P<period>\S+) sales$"), gettext_lazy("clawback of %(period)s sales")),
    (re.compile(r"^gate: attainment below (?P<level>\S+)$"), gettext_lazy("gate: attainment below %(level)s")),
    (re.compile(r"^milestone (?P<level>\S+)$"), gettext_lazy("milestone %(level)s")),
    (re.compile(r"^multiplier ×(?P<factor>\S+) \((?P<when>.+)\)$"), gettext_lazy("multiplier ×%(factor)s (%(when)s)")),
    (re.compile(r"^measure (?P<id>\S+) of quota (?P<quota>\S+) × weight (?P<weight>\S+)$"),
     gettext_lazy("measure %(id)s of quota %(quota)s × weight %(weight)s")),
    (re.compile(r"^ramp: month (?P<n>\d+)$"), gettext_lazy("ramp: month %(n)s")),
    (re.compile(r"^ramp: months (?P<first>\d+)–(?P<last>\d+)$"), gettext_lazy("ramp: months %(first)s–%(last)s")),
    (re.compile(r"^team pool of (?P<team>\S+) \((?P<n>\d+) members\)$"),
     gettext_lazy("team pool of %(team)s (%(n)s members)")),
]
_WORDS = {
    "flat": gettext_lazy("flat rate"), "default": gettext_lazy("default rate"), "no rate": gettext_lazy("no rate"),
    "cap": gettext_lazy("cap"), "minimum": gettext_lazy("minimum"), "no quota": gettext_lazy("no quota"),
    "between bands": gettext_lazy("between bands"), "spiff per unit": gettext_lazy("SPIFF per unit"),
    "spiff per line": gettext_lazy("SPIFF per line"), "no milestone reached": gettext_lazy("no milestone reached"),
    "MBO score × target": gettext_lazy("MBO score × target"), "MBO: no score entered": gettext_lazy("MBO: no score entered"),
    "draw: advance": gettext_lazy("draw: advance"), "draw: recovery": gettext_lazy("draw: recovery"),
    "guarantee: top-up": gettext_lazy("guarantee: top-up"),
    "team share: equal": gettext_lazy("team share: equal"), "team share: by credit": gettext_lazy("team share: by credit"),
    "team share: by target incentive": gettext_lazy("team share: by target incentive"), "no lines in the period": gettext_lazy("no lines in the period"),
}
_QUALIFIERS = [
    (re.compile(r"^(?P<rest>.+) \(before (?P<day>\d{4}-\d{2}-\d{2})\)$"), gettext_lazy("%(rule)s (before %(day)s)")),
    (re.compile(r"^(?P<rest>.+) \(per transaction\)$"), gettext_lazy("%(rule)s (per transaction)")),
    (re.compile(r"^(?P<rest>.+) \(interpolated\)$"), gettext_lazy("%(rule)s (interpolated)")),
]


def known(label: str) -> bool:
    return rule_text(label, strict=True) is not None


def rule_text(label: str, *, strict: bool = False) -> str | None:
    """``label`` in the active language (``strict``: None for a label of no known form)."""
    for pattern, template in _QUALIFIERS:
        match = pattern.match(label)
        if match:
            inner = rule_text(match.group("rest"), strict=strict)
            if inner is None:
                return None
            values = {"rule": inner, **{k: v for k, v in match.groupdict().items() if k != "rest"}}
            return str(template) % values
    if label in _WORDS:
        return str(_WORDS[label])
    for pattern, template in _FORMS:
        match = pattern.match(label)
        if not match:
            continue
        if template is None:  # a band: "attainment 100%–150%" / "amount 0–100000" / "attainment 150%+"
            kind = _("attainment") if match.group(1) == "attainment" else _("amount")
            if "high" in match.groupdict():
                return _("%(kind)s %(low)s–%(high)s") % {"kind": kind, "low": match.group("low"),
                                                         "high": match.group("high")}
            return _("%(kind)s %(low)s and above") % {"kind": kind, "low": match.group("low")}
        values = dict(match.groupdict())
        if "rule" in values:
            values["rule"] = rule_text(values["rule"], strict=strict)
            if values["rule"] is None:
                return None
        return str(template) % values
    return None if strict else label
