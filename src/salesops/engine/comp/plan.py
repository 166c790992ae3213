"""Compensation plans as code: the YAML document, its schema, and errors that name the path and the line.

Role in the flow: ops write (or the web app stores) a plan as YAML; :func:`load_plan` validates it into a
:class:`CompPlan`, which :mod:`salesops.engine.comp.calc` runs over transactions. ``docs/plans.md`` is the
reference, with a runnable example of every construct.

Rules kept here:

- every number is read exactly: YAML floats become ``Decimal`` from their text (``0.035`` is 0.035, not the
  float nearest to it), so ``rate: 0.035`` means what it says;
- unknown keys are errors (a misspelt ``tires:`` must not silently mean "no tiers");
- an error names where it is, as ``components[2].tiers.bands[1].rate`` and the line in the file, and every error
  of the document is reported at once;
- tier bands start at 0, follow each other without gaps or overlaps, and have non-negative rates; a plan that
  wants gaps says so (``allow_gaps: true``), never silently;
- the weights of a weighted attainment add up to exactly 1.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from salesops.engine.money import RoundingPolicy

IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
ATTRIBUTE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")  # a deal attribute's name (the import's ``attr:<name>`` column)
NonNegative = Annotated[Decimal, Field(ge=0, allow_inf_nan=False, decimal_places=10)]  # rates, edges, factors
Amount = Annotated[Decimal, Field(ge=0, allow_inf_nan=False, decimal_places=2)]  # money


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CreditType(StrEnum):
    NET_REVENUE = "net_revenue"  # 净销售额: the line's net amount (returns negative)
    GROSS_MARGIN = "gross_margin"  # 毛利: net amount − cost
    UNITS = "units"  # 数量
    # 新客户数: one per customer whose first-ever purchase (first non-return line) falls in the window, credited to
    # the payees of that first line by their share
    NEW_CUSTOMERS = "new_customers"


class Window(StrEnum):
    """What a measure sums: the payout period itself, or the quarter/half/fiscal year up to the period's end."""

    PERIOD = "period"
    QUARTER = "quarter"
    HALF = "half"
    YEAR_TO_DATE = "ytd"


class TierMode(StrEnum):
    MARGINAL = "marginal"  # 超额累进: each slice at its own band's rate
    WHOLE = "whole"  # 全额: everything at the rate of the band reached
    INTERPOLATED = "interpolated"  # the rate moves linearly inside a band, applied to everything


class Filter(_Model):
    """Which credited lines a component counts; an empty list means "any". Members are the codes of the input
    (product SKU, category code, region code, customer segment code, customer number)."""

    products: list[str] = []
    categories: list[str] = []
    regions: list[str] = []
    segments: list[str] = []
    customers: list[str] = []
    # deal attributes (channel, deal type…): name → the values that count, e.g. {channel: [online, partner]}
    attributes: dict[str, list[str]] = {}

    @field_validator("attributes")
    @classmethod
    def _attributes(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for name, members in value.items():
            if not ATTRIBUTE.match(name):
                raise ValueError(f"attribute {name!r}: lower case letters, digits and _, starting with a letter")
            if not members:
                raise ValueError(f"attribute {name}: list the values that count")
        return value

    def is_empty(self) -> bool:
        return not (self.products or self.categories or self.regions or self.segments or self.customers
                    or self.attributes)


class RollUp(_Model):
    """Credit passed to managers: ``levels`` managers up the hierarchy in effect on the line's date (0: none)."""

    levels: int = Field(0, ge=0, le=10)


class Credit(_Model):
    type: CreditType = CreditType.NET_REVENUE
    # booked: a line counts in the period of its date; paid: each payment counts in the period it arrives, as its
    # amount × the split share (earnings in proportion to what was paid); invoiced: a line counts in the period of
    # its invoice date (a return in the period of its credit note), a line not invoiced yet counts nowhere yet
    recognise: Literal["booked", "paid", "invoiced"] = "booked"
    roll_up: RollUp = RollUp()
    filter: Filter = Filter()

    @model_validator(mode="after")
    def _paid(self) -> Credit:
        if self.recognise == "paid" and self.type is not CreditType.NET_REVENUE:
            raise ValueError("recognise: paid counts payments, so the credit type must be net_revenue")
        if self.type is CreditType.NEW_CUSTOMERS and self.recognise != "booked":
            raise ValueError("new_customers counts first purchases by their date: recognise must be booked")
        return self


class RateEntry(_Model):
    """One row of a rate table: a product or a category (exactly one), and its rate."""

    product: str | None = None
    category: str | None = None
    rate: NonNegative

    @model_validator(mode="after")
    def _one_key(self) -> RateEntry:
        if (self.product is None) == (self.category is None):
            raise ValueError("give exactly one of product or category")
        return self


class RateTable(_Model):
    """Per-line rates: a line's product row wins over its category row, which wins over ``default``; a line
    that matches no row and has no default earns nothing (and is listed as such)."""

    entries: list[RateEntry] = Field(min_length=1)
    default: NonNegative | None = None

    @model_validator(mode="after")
    def _unique(self) -> RateTable:
        seen: set[tuple[str, str]] = set()
        for entry in self.entries:
            key = ("product", entry.product) if entry.product is not None else ("category", entry.category or "")
            if key in seen:
                raise ValueError(f"{key[0]} {key[1]} is in the table twice")
            seen.add(key)
        return self


class Band(_Model):
    from_: NonNegative = Field(alias="from")
    to: NonNegative | None = None  # None: no upper end (only the last band)
    rate: NonNegative

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Tiers(_Model):
    """Bands on the measure's amount or on attainment (measure ÷ quota, e.g. 1.0 = 100%)."""

    on: Literal["amount", "attainment"] = "attainment"
    mode: TierMode = TierMode.MARGINAL
    boundary: Literal["upper", "lower"] = "upper"  # a value exactly on an edge belongs to the band above (upper)
    # total: bands walked on the measure's total (over a longer window: earned to date − earned before);
    # per_transaction: each line, in date order, paid at the band its running total reaches, with no uplift of
    # the lines before (whole mode; marginal tiers pay the same either way)
    accumulation: Literal["total", "per_transaction"] = "total"
    allow_gaps: bool = False
    bands: list[Band] = Field(min_length=1)

    @model_validator(mode="after")
    def _contiguous(self) -> Tiers:
        bands = self.bands
        problems = []
        if bands[0].from_ != 0 and not self.allow_gaps:
            problems.append(f"bands[0].from must be 0 (it is {bands[0].from_}); or set allow_gaps: true")
        for i, band in enumerate(bands):
            if band.to is not None and band.to <= band.from_:
                problems.append(f"bands[{i}]: to ({band.to}) must be above from ({band.from_})")
            if band.to is None and i != len(bands) - 1:
                problems.append(f"bands[{i}]: only the last band may have no upper end")
            if i:
                before = bands[i - 1].to
                if before is not None and band.from_ < before:
                    problems.append(f"bands[{i}] overlaps bands[{i - 1}]: from {band.from_} is below {before}")
                elif before is not None and band.from_ > before and not self.allow_gaps:
                    problems.append(f"bands[{i}] leaves a gap after bands[{i - 1}]: {before} to {band.from_}; "
                                    f"or set allow_gaps: true")
        if self.mode is TierMode.INTERPOLATED and self.allow_gaps:
            problems.append("interpolated tiers cannot have gaps")
        if self.accumulation == "per_transaction" and self.mode is not TierMode.WHOLE:
            problems.append("per_transaction accumulation is for whole tiers (marginal tiers pay the same either "
                            "way)")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class Rate(_Model):
    """Exactly one of: a flat rate on the measure, a per-line rate table, tiers."""

    flat: NonNegative | None = None
    table: RateTable | None = None
    tiers: Tiers | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Rate:
        given = [name for name in ("flat", "table", "tiers") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of flat, table or tiers (got {', '.join(given) or 'none'})")
        return self


class Quota(_Model):
    """Where the quota of an attainment comes from: the quotas input (per payee, component and window period),
    or one amount for every payee."""

    source: Literal["input", "fixed"] = "input"
    amount: Amount | None = None

    @model_validator(mode="after")
    def _amount(self) -> Quota:
        if (self.source == "fixed") != (self.amount is not None):
            raise ValueError("a fixed quota needs amount; a quota from the input has none")
        return self


class Measure(_Model):
    """One measure of a weighted attainment: its own credit (type, filter, roll-up, recognition), its weight and
    its quota (from the input, looked up under the measure's ``id``, or fixed)."""

    id: str
    credit: Credit = Credit()
    weight: NonNegative
    quota: Quota

    @field_validator("id")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not IDENTIFIER.match(value):
            raise ValueError("must be lower case letters, digits and _, starting with a letter (at most 40)")
        return value


class Attainment(_Model):
    """Several measures into one attainment: Σ weight × measure ÷ quota (weights add up to 1). The component's
    measure is that attainment × ``target`` and its quota is ``target`` (prorated like a fixed amount), so tiers
    on attainment, gates, attainment caps and milestones read the weighted attainment; with tiers, a band's rate
    is the share of ``target`` paid per 100 % of attainment in it."""

    measures: list[Measure] = Field(min_length=1)
    target: Amount = Decimal(1)

    @model_validator(mode="after")
    def _check(self) -> Attainment:
        ids = [m.id for m in self.measures]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"measure ids must be unique: {', '.join(twice)}")
        total = sum((m.weight for m in self.measures), Decimal(0))
        if total != 1:
            raise ValueError(f"the measures' weights add up to {total.normalize():f}, not 1")
        if any(m.weight == 0 for m in self.measures):
            raise ValueError("a measure's weight must be above 0")
        return self


class RampStep(_Model):
    """``months`` months (counted on from the steps before) at ``factor`` × the quota."""

    months: int = Field(ge=1, le=120)
    factor: NonNegative


class Pool(_Model):
    """A team's pool: ``rate`` × the team's measure (nothing when it is not above 0), or a fixed ``amount`` (paid
    when the team passes the component's gate)."""

    rate: NonNegative | None = None
    amount: Amount | None = None

    @model_validator(mode="after")
    def _one(self) -> Pool:
        if (self.rate is None) == (self.amount is None):
            raise ValueError("give exactly one of rate or amount")
        return self


class Team(_Model):
    """A team bonus: the team of a manager is the payees of the run whose manager on the period's last day is that
    manager; its measure is the sum of the members' measures, its quota (for a gate) is looked up under the
    manager. The pool, rounded once by the plan's policy, is shared among the members ``equal``-ly,
    ``by_credit`` (each member's measure) or ``by_target_incentive`` (the payees' ``target_incentive``), in cents,
    the cents left over going to the largest remainders (ties: by payee), so the shares add up to the pool."""

    pool: Pool
    share: Literal["equal", "by_credit", "by_target_incentive"] = "equal"


class Gate(_Model):
    """No payout while attainment is below ``min_attainment`` (e.g. 0.5 = 50%)."""

    min_attainment: NonNegative


class Cap(_Model):
    """``amount``: the most the component pays a payee per period; ``attainment``: attainment used by the tiers
    is capped (e.g. at 2.0 = 200%) — capping attainment is not capping payout."""

    amount: Amount | None = None
    attainment: NonNegative | None = None

    @model_validator(mode="after")
    def _some(self) -> Cap:
        if self.amount is None and self.attainment is None:
            raise ValueError("give amount, attainment or both")
        return self


class Clawback(_Model):
    """A return (a line with a negative amount that names its original line) dated within ``window_days`` of the
    original reverses the original's earnings at the rate originally applied, in the period of the return;
    partial returns proportionally. A return outside the window is not recovered. Returns count in no measure."""

    window_days: int = Field(ge=1, le=3660)


class Multiplier(_Model):
    """An accelerator or decelerator: when the formula ``when`` holds for a payee (e.g. ``margin_rate < 0.2``),
    the component's earnings are multiplied by ``factor`` (0.8 slows, 1.2 speeds up). Every multiplier that holds
    applies, one after another. The names a formula can use are in ``engine.comp.formula.NAMES``."""

    when: str
    factor: NonNegative

    @field_validator("when")
    @classmethod
    def _formula(cls, value: str) -> str:
        from salesops.engine.comp.formula import Formula, FormulaError

        try:
            Formula(value)
        except FormulaError as error:
            raise ValueError(str(error)) from None
        return value


class Minimum(_Model):
    """The least the component pays a payee per period (prorated for a partial period), e.g. a guarantee."""

    amount: Amount


class Spiff(_Model):
    """A short-term bonus (专项奖励) for credited lines of some products or categories within dates: a fixed
    amount per unit sold, or per line (per deal)."""

    products: list[str] = []
    categories: list[str] = []
    start: dt.date
    end: dt.date
    per_unit: Amount | None = None
    per_line: Amount | None = None

    @model_validator(mode="after")
    def _check(self) -> Spiff:
        if (self.per_unit is None) == (self.per_line is None):
            raise ValueError("give exactly one of per_unit or per_line")
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        if not self.products and not self.categories:
            raise ValueError("name the products or categories it rewards")
        return self


class Milestone(_Model):
    attainment: NonNegative
    amount: Amount


class Bonus(_Model):
    """``milestones``: a fixed amount for each attainment level reached (within a window, each is paid once,
    in the period it is first reached); ``mbo_target``: a manager-entered score (from the scores input, e.g. 0.8
    for 80 %) × this target bonus."""

    milestones: list[Milestone] = []
    mbo_target: Amount | None = None

    @model_validator(mode="after")
    def _check(self) -> Bonus:
        if bool(self.milestones) == (self.mbo_target is not None):
            raise ValueError("give exactly one of milestones or mbo_target")
        levels = [m.attainment for m in self.milestones]
        if levels != sorted(set(levels)):
            raise ValueError("milestones must go up in attainment, each level once")
        return self


class Draw(_Model):
    """A draw (预支) against the earnings of other components (``of``): a payee who earns less than ``amount`` in a
    period (prorated for a partial one) is paid the difference. ``recoverable: true`` makes it an advance: it is
    added to the payee's draw balance and recovered from later periods' earnings above the draw, at most
    ``recovery_rate`` of that excess each period (1 = all of it). ``recoverable: false`` is a guarantee, never
    recovered. ``for_months`` limits it to a payee's first N months from their start date (a ramping new hire)."""

    amount: Amount
    of: list[str] = Field(min_length=1)
    recoverable: bool = True
    recovery_rate: NonNegative = Decimal(1)
    for_months: int | None = Field(None, ge=1, le=120)

    @model_validator(mode="after")
    def _check(self) -> Draw:
        if self.recovery_rate > 1:
            raise ValueError("recovery_rate is a share of the excess earnings: at most 1")
        return self


class Component(_Model):
    id: str
    name: str = ""
    credit: Credit = Credit()
    window: Window = Window.PERIOD
    quota: Quota | None = None
    rate: Rate | None = None
    gate: Gate | None = None
    cap: Cap | None = None
    multipliers: list[Multiplier] = []
    minimum: Minimum | None = None
    clawback: Clawback | None = None
    spiff: Spiff | None = None
    bonus: Bonus | None = None
    draw: Draw | None = None
    team: Team | None = None
    attainment: Attainment | None = None
    ramp: list[RampStep] = []  # quota × factor in a payee's first months (from their hire or start date)

    @field_validator("id")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not IDENTIFIER.match(value):
            raise ValueError("must be lower case letters, digits and _, starting with a letter (at most 40)")
        return value

    @model_validator(mode="after")
    def _check(self) -> Component:
        kinds = [name for name in ("rate", "spiff", "bonus", "draw", "team") if getattr(self, name) is not None]
        if len(kinds) != 1:
            raise ValueError(f"give exactly one of rate, spiff, bonus, draw or team (got {', '.join(kinds) or 'none'})")
        if self.attainment is not None:
            if self.credit != Credit() or self.quota is not None:
                raise ValueError("with attainment.measures, each measure has its own credit and quota: no credit or "
                                 "quota on the component")
            if not (self.rate is not None and self.rate.table is None) and not (
                    self.bonus is not None and self.bonus.milestones):
                raise ValueError("a weighted attainment pays through flat, tiers or milestones")
            if (self.multipliers or self.clawback or self.rate is not None and self.rate.tiers is not None
                    and self.rate.tiers.accumulation == "per_transaction"):
                raise ValueError("a weighted attainment has no multipliers, clawback or per_transaction tiers")
        if self.team is not None:
            if (self.credit.roll_up.levels or self.window is not Window.PERIOD or self.cap or self.minimum
                    or self.clawback or self.multipliers or self.ramp):
                raise ValueError("a team bonus sums its members' own lines in the period: no roll_up, window, cap, "
                                 "minimum, clawback, multipliers or ramp")
            if self.team.pool.amount is not None and self.gate is None:
                raise ValueError("a fixed pool is paid when the team reaches its gate: give gate and quota")
        if self.credit.type is CreditType.NEW_CUSTOMERS and (self.clawback or self.spiff):
            raise ValueError("new_customers counts customers: no clawback or spiff")
        if self.ramp and self.quota is None and self.attainment is None:
            raise ValueError("a ramp scales quotas: give it with a quota")
        if self.multipliers and self.rate is None:
            raise ValueError("multipliers scale a rate's earnings: give them with flat, table or tiers")
        if self.draw is not None and (self.gate or self.cap or self.quota or self.minimum or self.clawback
                                      or self.window is not Window.PERIOD):
            raise ValueError("a draw tops up other components: no quota, gate, cap, minimum, clawback or window")
        needs_quota = (self.rate is not None and self.rate.tiers is not None and self.rate.tiers.on == "attainment"
                       ) or self.gate is not None or (self.cap is not None and self.cap.attainment is not None) or (
                           self.bonus is not None and bool(self.bonus.milestones))
        if needs_quota and self.quota is None and self.attainment is None:
            raise ValueError("attainment (tiers on attainment, a gate or an attainment cap) needs a quota")
        if self.spiff is not None and (self.gate or self.cap or self.quota or self.window is not Window.PERIOD):
            raise ValueError("a spiff pays per unit or line in its dates: no quota, gate, cap or window")
        if self.rate is not None and self.rate.table is not None and (
                self.window is not Window.PERIOD or self.gate or self.quota or (self.cap and self.cap.attainment)):
            raise ValueError("a rate table pays each line in its period: no window, quota, gate or attainment cap "
                             "(use flat or tiers for those)")
        if self.clawback is not None and (self.rate is None or self.credit.recognise != "booked" or (
                self.rate.tiers is not None and self.rate.tiers.accumulation == "per_transaction")):
            raise ValueError("a clawback reverses a rate's earnings on booked lines (flat, table, or tiers on the total)")
        if self.cap is not None and self.cap.amount is not None and self.minimum is not None and (
                self.minimum.amount > self.cap.amount):
            raise ValueError(f"the minimum {self.minimum.amount} is above the cap {self.cap.amount}")
        if self.bonus is not None and self.bonus.mbo_target is not None and (
                self.gate or self.cap or self.quota or self.window is not Window.PERIOD):
            raise ValueError("an MBO bonus is the score × the target: no quota, gate, cap or window")
        return self


class CompPlan(_Model):
    plan: str = Field(min_length=1)
    version: int = Field(1, ge=1)
    effective_from: dt.date
    effective_to: dt.date | None = None
    currency: str = "CNY"
    rounding: RoundingPolicy = RoundingPolicy.HALF_UP
    # days: a payee who starts or leaves inside a period has quotas and fixed amounts (caps, milestone and MBO
    # amounts) × days participated ÷ days in the period, each rounded to cents half up; none: never prorated
    proration: Literal["days", "none"] = "days"
    components: list[Component] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> CompPlan:
        ids = [c.id for c in self.components]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"component ids must be unique: {', '.join(twice)}")
        # a measure's quota is looked up under its id, in the same column as the components' quotas
        measures = [m.id for c in self.components if c.attainment is not None for m in c.attainment.measures]
        clash = sorted({i for i in measures if measures.count(i) > 1 or i in ids})
        if clash:
            raise ValueError(f"measure ids must be unique in the plan and differ from component ids: {', '.join(clash)}")
        for c in self.components:
            if c.draw is not None:
                unknown = [i for i in c.draw.of if i not in ids or i == c.id]
                drawn = [i for i in c.draw.of if i in ids and self.component(i).draw is not None]
                if unknown or drawn:
                    raise ValueError(f"draw {c.id}: of names components of this plan other than draws "
                                     f"(not {', '.join(unknown + drawn)})")
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise ValueError(f"effective_to {self.effective_to} is before effective_from {self.effective_from}")
        return self

    def component(self, component_id: str) -> Component:
        return next(c for c in self.components if c.id == component_id)


# -- reading YAML --------------------------------------------------------------------------------------------


class PlanSchemaError(ValueError):
    """Every problem of a plan document: ``path: message (line N)`` each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class _Loader(yaml.SafeLoader):
    """Safe YAML whose floats are exact Decimals (``0.035`` stays 0.035), whose only booleans are true and
    false (YAML 1.1 would read the key ``on`` — as in ``tiers: {on: amount}`` — or a code ``NO`` as a boolean),
    and whose dates stay text for the schema to check (so ``2026-02-30`` is an error with its path)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers
            if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))


def _decimal(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Decimal | str:
    text = loader.construct_scalar(node).replace("_", "")
    try:
        return Decimal(text)
    except ArithmeticError:
        return str(text)  # .inf / .nan: the schema refuses them with their path


_Loader.add_constructor("tag:yaml.org,2002:float", _decimal)


def _lines(node: yaml.Node, path: tuple = (), out: dict | None = None) -> dict[tuple, int]:
    """The line (1-based) of every path in a composed YAML document."""
    out = {} if out is None else out
    out.setdefault(path, node.start_mark.line + 1)  # a key's own line wins over where its value starts
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            out[(*path, key.value)] = key.start_mark.line + 1
            _lines(value, (*path, key.value), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _lines(item, (*path, i), out)
    return out


def path_text(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(plan)"


def load_plan(text: str) -> CompPlan:
    """Parse and validate a plan document; raise :class:`PlanSchemaError` listing every problem."""
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise PlanSchemaError([f"(plan): not valid YAML: {getattr(error, 'problem', error)}{where}"]) from None
    if not isinstance(data, dict):
        raise PlanSchemaError(["(plan): a plan is a mapping with plan, effective_from and components"])
    lines = _lines(node) if node is not None else {}
    try:
        return CompPlan.model_validate(data)
    except ValidationError as error:
        raise PlanSchemaError([_problem(e, lines) for e in error.errors()]) from None


def _problem(error: dict[str, Any], lines: dict[tuple, int]) -> str:
    loc = tuple("from" if part == "from_" else part for part in error["loc"])
    # pydantic names the failing variant of a union or an "after" validator; keep the document's own path
    loc = tuple(part for part in loc if not (isinstance(part, str) and ("[" in part or part.startswith("function-"))))
    message = error["msg"].removeprefix("Value error, ")
    context = error.get("ctx") or {}
    message = {
        "extra_forbidden": "unknown key",
        "missing": "is required",
        "greater_than_equal": f"must be ≥ {context.get('ge')}",
        "less_than_equal": f"must be ≤ {context.get('le')}",
        "decimal_parsing": "must be a number",
        "decimal_type": "must be a number",
        "finite_number": "must be a finite number",
        "int_parsing": "must be a whole number",
        "date_from_datetime_parsing": "must be a date (YYYY-MM-DD)",
        "too_short": f"needs at least {context.get('min_length')}",
        "decimal_max_places": f"at most {context.get('decimal_places')} decimals",
    }.get(error["type"], message)
    line = None
    for n in range(len(loc), -1, -1):
        line = lines.get(loc[:n])
        if line is not None:
            break
    return f"{path_text(loc)}: {message}" + (f" (line {line})" if line else "")


def dump_plan(plan: CompPlan) -> str:
    """The plan as YAML (what the web app exports); ``load_plan(dump_plan(p)) == p``."""
    data = plan.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    data = {"plan": plan.plan, "effective_from": str(plan.effective_from), **data}
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
