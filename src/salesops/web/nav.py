"""The navigation: only areas that exist, and only those the user's role may open."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from salesops.core.roles import Role, role_of

EVERYONE = tuple(Role)
SALES_DATA = (Role.ADMIN, Role.OPS, Role.MANAGER, Role.REP, Role.FINANCE)


@dataclass(frozen=True)
class NavItem:
    url_name: str
    label: Promise
    roles: tuple[str, ...]
    unless: str = ""  # left out when this other entry is listed (a page that supersedes it)


NAV = [
    NavItem("home", _("Home"), EVERYONE),
    NavItem("targets:plans", _("Targets"), SALES_DATA),
    NavItem("incentives:statements", _("Statements"), SALES_DATA),
    NavItem("incentives:estimate", _("Earnings estimate"), SALES_DATA),
    NavItem("incentives:disputes", _("Disputes"), SALES_DATA),
    NavItem("incentives:plans", _("Compensation plans"), (Role.ADMIN, Role.OPS, Role.FINANCE)),
    NavItem("incentives:runs", _("Calculation runs"), (Role.ADMIN, Role.OPS, Role.FINANCE)),
    NavItem("incentives:modelling", _("Plan modelling"), (Role.ADMIN, Role.OPS, Role.FINANCE)),
    NavItem("crm:pipeline", _("Pipeline"), SALES_DATA),
    NavItem("crm:activities", _("Activities"), SALES_DATA),
    NavItem("crm:quotes", _("Quotes"), SALES_DATA),
    NavItem("crm:analytics", _("Sales process"), SALES_DATA),
    NavItem("org:lines", _("Order lines"), SALES_DATA),
    NavItem("crm:customers", _("Customers"), SALES_DATA),
    NavItem("org:customers", _("Customers"), SALES_DATA, unless="crm:customers"),
    NavItem("org:people", _("People"), EVERYONE),
    NavItem("org:products", _("Products"), EVERYONE),
    NavItem("org:trees", _("Organisation trees"), EVERYONE),
    NavItem("imports:index", _("Import"), (Role.ADMIN, Role.OPS, Role.HR)),
    NavItem("org:company", _("Company settings"), (Role.ADMIN, Role.OPS)),
    NavItem("web-audit", _("Audit log"), (Role.ADMIN,)),
    NavItem("api-docs", _("API"), EVERYONE),
]


def nav_for(request) -> list[dict]:
    role = role_of(request.user)
    items = []
    for item in NAV:
        if role not in item.roles:
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:  # an area that is not installed is not listed
            continue
        if item.unless and any(i["name"] == item.unless for i in items):
            continue
        items.append({"name": item.url_name, "url": url, "label": item.label, "active": False})
    # the active item is the one whose address is the longest start of the page's (/incentives/runs/ over
    # /incentives/); the home page only for itself
    matches = [i for i in items if (request.path == i["url"] if i["url"] == "/" else request.path.startswith(i["url"]))]
    if matches:
        max(matches, key=lambda i: len(i["url"]))["active"] = True
    return items
