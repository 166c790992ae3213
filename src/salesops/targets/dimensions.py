"""Dimensions a plan can be decomposed along, and how sales map onto them.

A level is one dimension at one depth of its tree: ``category`` (product categories), ``region``, ``segment``
(customer segments), ``team`` (sales teams), or one of the flat dimensions ``product``, ``customer`` (the key
accounts, one member each, plus "other customers", member 0, for everyone else) and ``salesperson``. For the trees, ``depth`` is the absolute depth of
the nodes used (0 = the roots; e.g. 全国 is depth 0 and 华东 depth 1). Sales in the cube are attributed to the
member that contains them: a sale in 上海 belongs to 华东 at depth 1. A salesperson's sales in a month belong to
the team of the assignment in effect on the first day of that month (or the first one that starts in the month).

Which members a level has under a parent: every node of the dimension at that depth, except that a tree under
an ancestor of the same tree is limited to its subtree, a ``team`` under a region to the teams with people
assigned to that region during the fiscal year, and a ``salesperson`` to people assigned during the fiscal year
to a team in the ancestor team's subtree (and to a region in the ancestor region's subtree, when their assignment
names a region). A node left with no members below it is dropped from the plan. Other combinations keep every member; the historical method gives those without
sales in the parent's scope a weight of zero.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from salesops.engine.periods import Period, add_months
from salesops.org.models import (
    Assignment,
    Customer,
    CustomerSegment,
    Product,
    ProductCategory,
    Region,
    Salesperson,
    Team,
)

TREES = {"category": ProductCategory, "region": Region, "segment": CustomerSegment, "team": Team}
DIMENSIONS = {
    "category": _("Product category"),
    "product": _("Product"),
    "customer": _("Key customer"),
    "region": _("Region"),
    "segment": _("Customer segment"),
    "team": _("Sales team"),
    "salesperson": _("Salesperson"),
}


def ancestor_at(path: str, depth: int) -> int | None:
    """The id at ``depth`` in a materialised path ("/1/5/12/"), or None when the node is shallower."""
    ids = path.strip("/").split("/")
    return int(ids[depth]) if len(ids) > depth and ids[depth] else None


@dataclass
class Context:
    """What the dimension logic needs about the organisation for one fiscal year, loaded once."""

    year: Period
    paths: dict[str, dict[int, str]]  # dimension -> node id -> path
    names: dict[str, dict[int, str]]
    depth_nodes: dict[tuple[str, int], list[int]]  # (dimension, depth) -> node ids in tree order
    assignments: list[Assignment]
    people: dict[int, Salesperson]
    products: dict[int, int]  # active product id -> its category id
    key_customers: dict[int, tuple[int | None, int | None]]  # key account id -> (region id, segment id)

    @classmethod
    def load(cls, year: Period) -> Context:
        paths, names, depth_nodes = {}, {}, {}
        for dim, model in TREES.items():
            rows = list(model.objects.order_by("path").values_list("pk", "path", "depth", "name"))
            paths[dim] = {pk: path for pk, path, _d, _n in rows}
            names[dim] = {pk: name for pk, _p, _d, name in rows}
            for pk, _p, depth, _n in rows:
                depth_nodes.setdefault((dim, depth), []).append(pk)
        assignments = list(Assignment.objects.filter(start_date__lt=year.end).exclude(end_date__lt=year.start)
                           .order_by("salesperson_id", "start_date"))
        people = {p.pk: p for p in Salesperson.objects.all()}
        names["salesperson"] = {pk: p.name for pk, p in people.items()}
        products = {}
        names["product"] = {}
        for pk, sku, name, category, active in Product.objects.order_by("sku").values_list(
                "pk", "sku", "name", "category_id", "active"):
            names["product"][pk] = f"{sku} {name}"
            if active:
                products[pk] = category
        key_customers = {}
        names["customer"] = {0: str(_("Other customers"))}
        for pk, name, region, segment in Customer.objects.filter(key_account=True).order_by("name", "pk").values_list(
                "pk", "name", "region_id", "segment_id"):
            names["customer"][pk] = name
            key_customers[pk] = (region, segment)
        return cls(year, paths, names, depth_nodes, assignments, people, products, key_customers)

    # -- members ------------------------------------------------------------------------------------------
    def members(self, dimension: str, depth: int, ancestors: Iterable[tuple[str, int]]) -> list[int]:
        ancestors = list(ancestors)
        if dimension == "salesperson":
            return self._people_under(ancestors)
        if dimension == "customer":  # key accounts inside the nearest region/segment above, then everyone else
            regions = [self.paths["region"][m] for d, m in ancestors if d == "region"]
            segments = [self.paths["segment"][m] for d, m in ancestors if d == "segment"]

            def inside(node, dim, prefixes):
                return not prefixes or (node is not None and self.paths[dim][node].startswith(prefixes[-1]))
            return [pk for pk, (region, segment) in self.key_customers.items()
                    if inside(region, "region", regions) and inside(segment, "segment", segments)] + [0]
        if dimension == "product":  # the active products, inside the nearest category above when there is one
            categories = [self.paths["category"][m] for d, m in ancestors if d == "category"]
            return [pk for pk, category in self.products.items()
                    if not categories or self.paths["category"][category].startswith(categories[-1])]
        nodes = self.depth_nodes.get((dimension, depth), [])
        for dim, member in ancestors:
            if dim == dimension:  # the same tree higher up: stay inside its subtree
                prefix = self.paths[dim][member]
                nodes = [n for n in nodes if self.paths[dim][n].startswith(prefix)]
        if dimension == "team":
            regions = [self.paths["region"][m] for d, m in ancestors if d == "region"]
            if regions:  # a team under a region: the teams whose people were assigned to that region
                staffed = {a.team_id for a in self.assignments
                           if a.region_id is None or self.paths["region"][a.region_id].startswith(regions[-1])}
                nodes = [n for n in nodes if any(self.paths["team"][t].startswith(self.paths["team"][n]) for t in staffed)]
        return nodes

    def _people_under(self, ancestors: list[tuple[str, int]]) -> list[int]:
        teams = [self.paths["team"][m] for d, m in ancestors if d == "team"]
        regions = [self.paths["region"][m] for d, m in ancestors if d == "region"]
        found: list[int] = []
        for a in self.assignments:
            if teams and not self.paths["team"][a.team_id].startswith(teams[-1]):
                continue
            if regions and a.region_id and not self.paths["region"][a.region_id].startswith(regions[-1]):
                continue
            if a.salesperson_id not in found:
                found.append(a.salesperson_id)
        return sorted(found, key=lambda pk: self.people[pk].employee_no)

    def name(self, dimension: str, member: int) -> str:
        return self.names[dimension].get(member, str(member))

    # -- attributing sales --------------------------------------------------------------------------------
    def team_of(self, salesperson_id: int, month: dt.date) -> int | None:
        """The team of the assignment in effect on the month's first day, else the first starting in the month."""
        end = add_months(month, 1)
        best = None
        for a in self._by_person().get(salesperson_id, ()):
            if a.start_date <= month and (a.end_date is None or a.end_date >= month):
                return a.team_id
            if best is None and month <= a.start_date < end:
                best = a.team_id
        return best

    def _by_person(self) -> dict[int, list[Assignment]]:
        if not hasattr(self, "_person_index"):
            index: dict[int, list[Assignment]] = {}
            for a in self.assignments:
                index.setdefault(a.salesperson_id, []).append(a)
            self._person_index = index
        return self._person_index

    def at_depth(self, dimension: str, depth: int) -> dict[int, int | None]:
        """node id → its ancestor at ``depth`` (None when shallower), for one tree; computed once."""
        cache = self.__dict__.setdefault("_at_depth", {})
        key = (dimension, depth)
        if key not in cache:
            cache[key] = {pk: ancestor_at(path, depth) for pk, path in self.paths[dimension].items()}
        return cache[key]

    def mapper(self, levels: list[tuple[str, int]]):
        """For a plan's levels: the cube fields to read (salesperson_id and month first) and a function from a row
        of those fields to the tuple of members (None where a row falls outside the plan's dimensions)."""
        fields = ["salesperson_id", "month"] + sorted(
            {f"{d}_id" for d, _depth in levels if (d in TREES and d != "team") or d == "product"}
            | ({"key_customer_id"} if any(d == "customer" for d, _depth in levels) else set()))
        index = {f: i for i, f in enumerate(fields)}
        teams: dict[tuple[int, object], int | None] = {}
        steps = []
        for dim, depth in levels:
            if dim == "salesperson":
                steps.append(lambda row: row[0])
            elif dim == "customer":
                steps.append(lambda row, i=index["key_customer_id"]: row[i] or 0)
            elif dim == "product":
                steps.append(lambda row, i=index["product_id"]: row[i] if row[i] in self.products else None)
            elif dim == "team":
                ancestors = self.at_depth("team", depth)

                def team(row, ancestors=ancestors):
                    key = (row[0], row[1])
                    if key not in teams:
                        found = self.team_of(row[0], row[1])
                        teams[key] = ancestors.get(found) if found else None
                    return teams[key]
                steps.append(team)
            else:
                ancestors, i = self.at_depth(dim, depth), index[f"{dim}_id"]
                steps.append(lambda row, ancestors=ancestors, i=i: ancestors.get(row[i]) if row[i] else None)

        def members(row) -> tuple:
            return tuple(step(row) for step in steps)
        return fields, members
