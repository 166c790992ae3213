"""Forms of the pipeline and activity pages: they check types and choices; every rule of the business (required
fields of a stage, who may own what, due after created) is the services' (``crm.services``), whose errors land
back on the field they name (``add_service_errors``).

Choices are limited to what the user may see (customers, contacts, deals) and to the people they may change
for (owners)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from salesops.crm import access, selectors
from salesops.crm.models import (
    Activity,
    ActivityKind,
    Opportunity,
    OpportunityStatus,
    RequiredField,
    Stage,
)
from salesops.org.access import own_salesperson, visible_to
from salesops.org.models import Customer, Product, Salesperson, Team

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def label(model, name: str):
    """The model field's own (translated) name, capitalised, so forms, lists and errors say the same words."""
    return capfirst(model._meta.get_field(name).verbose_name)


def add_service_errors(form: forms.Form, error: ValidationError, *, aliases: dict[str, str] | None = None) -> None:
    """Put a service's ``ValidationError`` on the form: each message on the field it names (or an alias of it),
    the rest on the form itself."""
    aliases = aliases or {}
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, errors in error.error_dict.items():
        target = aliases.get(name, name)
        form.add_error(target if target in form.fields else None, errors)


def _person_label(person: Salesperson) -> str:
    return f"{person.name} ({person.employee_no})"


# -- opportunities ----------------------------------------------------------------------------------------
class OpportunityForm(forms.Form):
    """A new deal (with its customer and first stage) or the fields of an existing one. Products are lines of
    product × quantity: the deal's own and two empty ones (at least ``PRODUCT_ROWS``)."""

    PRODUCT_ROWS = 5

    name = forms.CharField(label=label(Opportunity, "name"), max_length=200)
    customer = forms.ModelChoiceField(label=label(Opportunity, "customer"), queryset=Customer.objects.none())
    stage = forms.ModelChoiceField(label=label(Opportunity, "stage"), queryset=Stage.objects.none(), required=False,
                                   help_text=_("Empty: the first stage of the pipeline."))
    owner = forms.ModelChoiceField(label=label(Opportunity, "owner"), queryset=Salesperson.objects.none())
    amount = forms.DecimalField(label=label(Opportunity, "amount"), max_digits=18, decimal_places=2,
                                min_value=Decimal(0), required=False)
    expected_close = forms.DateField(label=label(Opportunity, "expected_close"), required=False, widget=DATE)
    decision_maker = forms.ModelChoiceField(label=label(Opportunity, "decision_maker"), queryset=None, required=False)
    source = forms.CharField(label=label(Opportunity, "source"), max_length=100, required=False)
    competitor = forms.CharField(label=label(Opportunity, "competitor"), max_length=100, required=False)
    lost_reason = forms.CharField(label=label(Opportunity, "lost_reason"), max_length=200, required=False)

    def __init__(self, *args, user, instance: Opportunity | None = None, **kwargs):
        self.instance = instance
        lines = list(instance.products.all()) if instance is not None else []
        self.rows = max(self.PRODUCT_ROWS, len(lines) + 2)
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": instance.name, "owner": instance.owner_id, "amount": instance.amount,
                "expected_close": instance.expected_close, "decision_maker": instance.decision_maker_id,
                "source": instance.source, "competitor": instance.competitor, "lost_reason": instance.lost_reason,
                **{f"product_{i}": line.product_id for i, line in enumerate(lines)},
                **{f"quantity_{i}": line.quantity.normalize() for i, line in enumerate(lines)},
            }
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = selectors.owner_choices(user)
        self.fields["owner"].label_from_instance = _person_label
        contacts = access.visible_contacts(user).select_related("customer")
        if instance is not None:
            del self.fields["customer"], self.fields["stage"]
            contacts = contacts.filter(customer_id=instance.customer_id)
        else:
            self.fields["customer"].queryset = visible_to(user, Customer).order_by("name")
            self.fields["stage"].queryset = Stage.objects.filter(active=True, is_won=False, is_lost=False)
        self.fields["decision_maker"].queryset = contacts.order_by("customer__name", "name")
        self.fields["decision_maker"].label_from_instance = lambda c: f"{c.name} · {c.customer.name}"
        products = Product.objects.filter(active=True).order_by("sku")
        for i in range(self.rows):
            self.fields[f"product_{i}"] = forms.ModelChoiceField(label=_("Product"), queryset=products, required=False)
            self.fields[f"quantity_{i}"] = forms.DecimalField(label=_("Quantity"), max_digits=14, decimal_places=3,
                                                              required=False, min_value=Decimal("0.001"))

    def product_rows(self):
        return [(self[f"product_{i}"], self[f"quantity_{i}"]) for i in range(self.rows)]

    def main_fields(self):
        return [f for f in self if not f.name.startswith(("product_", "quantity_"))]

    def products(self) -> list[tuple[Product, Decimal]]:
        rows = []
        for i in range(self.rows):
            product = self.cleaned_data.get(f"product_{i}")
            if product is not None:
                rows.append((product, self.cleaned_data.get(f"quantity_{i}") or Decimal(1)))
        return rows

    def deal_fields(self) -> dict:
        """The cleaned fields the services take by name (``EDITABLE_OPPORTUNITY_FIELDS``)."""
        data = self.cleaned_data
        return {name: data.get(name) if name in ("owner", "amount", "expected_close", "decision_maker")
                else data.get(name, "") for name in ("name", "owner", "amount", "expected_close", "decision_maker",
                                                     "source", "competitor", "lost_reason")}


class MoveForm(forms.Form):
    """A move to another stage with whatever fields the stage needs. Every field is optional here: the service
    says which are missing, and the refusal shows a form of exactly those (``only``)."""

    stage = forms.ModelChoiceField(label=label(Opportunity, "stage"), queryset=Stage.objects.filter(active=True))
    amount = forms.DecimalField(label=label(Opportunity, "amount"), max_digits=18, decimal_places=2,
                                min_value=Decimal(0), required=False)
    expected_close = forms.DateField(label=label(Opportunity, "expected_close"), required=False, widget=DATE)
    decision_maker = forms.ModelChoiceField(label=label(Opportunity, "decision_maker"), queryset=None, required=False)
    product = forms.ModelChoiceField(label=_("Product"), queryset=Product.objects.filter(active=True).order_by("sku"),
                                     required=False)
    quantity = forms.DecimalField(label=_("Quantity"), max_digits=14, decimal_places=3, required=False,
                                  min_value=Decimal("0.001"))
    source = forms.CharField(label=label(Opportunity, "source"), max_length=100, required=False)
    competitor = forms.CharField(label=label(Opportunity, "competitor"), max_length=100, required=False)
    lost_reason = forms.CharField(label=label(Opportunity, "lost_reason"), max_length=200, required=False)

    TEXT_FIELDS = ("source", "competitor", "lost_reason")

    def __init__(self, *args, user, opportunity: Opportunity, only: list[str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.opportunity = opportunity
        self.fields["decision_maker"].queryset = access.visible_contacts(user).filter(
            customer_id=opportunity.customer_id).order_by("name")
        if only is not None:
            # the refusal's form: the stage (hidden) and exactly the fields the stage still needs
            keep = {"stage", *only}
            if RequiredField.PRODUCTS in only:
                keep |= {"product", "quantity"}
            for name in list(self.fields):
                if name not in keep:
                    del self.fields[name]
            self.fields["stage"].widget = forms.HiddenInput()
            # asked of the browser only: the service names what is still missing, in its own words
            for name in (*only, "product"):
                if name in self.fields:
                    self.fields[name].widget.attrs["required"] = True

    def move_fields(self) -> dict:
        """The fields to set with the move: those given, never blanking what the deal already has."""
        data = self.cleaned_data
        fields = {}
        for name in ("amount", "expected_close", "decision_maker", *self.TEXT_FIELDS):
            value = data.get(name)
            if value not in (None, ""):
                fields[name] = value.strip() if isinstance(value, str) else value
        return fields

    def move_products(self) -> list[tuple[Product, Decimal]] | None:
        """A product named in the move is added to the deal's products (None: leave them as they are)."""
        product = self.cleaned_data.get("product")
        if product is None:
            return None
        rows = {p.product_id: (p.product, p.quantity) for p in self.opportunity.products.select_related("product")}
        rows[product.pk] = (product, self.cleaned_data.get("quantity") or Decimal(1))
        return list(rows.values())


class BoardFilter(forms.Form):
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=Salesperson.objects.none(), required=False)
    team = forms.ModelChoiceField(label=_("Team (with sub-teams)"), queryset=Team.objects.order_by("path"),
                                  required=False)
    customer = forms.CharField(label=_("Customer"), required=False, max_length=100,
                               widget=forms.TextInput(attrs={"placeholder": _("name or number")}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = visible_to(user, Salesperson).order_by("employee_no")
        self.fields["owner"].label_from_instance = _person_label
        self.fields["team"].label_from_instance = lambda t: "— " * t.depth + t.name

    def values(self) -> dict:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        return {"owner": data.get("owner"), "team": data.get("team"), "customer_q": data.get("customer") or ""}

    def filter(self, qs):
        data = self.values()
        qs = selectors.filter_opportunities(qs, owner=data["owner"], team=data["team"])
        if data["customer_q"]:
            q = data["customer_q"]
            qs = qs.filter(Q(customer__name__icontains=q) | Q(customer__external_id__icontains=q))
        return qs


class OpportunityFilter(BoardFilter):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    stage = forms.ModelChoiceField(label=_("Stage"), queryset=Stage.objects.order_by("position", "pk"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All")), *OpportunityStatus.choices])
    close_from = forms.DateField(label=_("Expected close from"), required=False, widget=DATE)
    close_to = forms.DateField(label=_("Expected close to"), required=False, widget=DATE)
    amount_min = forms.DecimalField(label=_("Amount from"), required=False, decimal_places=2, max_digits=18)
    amount_max = forms.DecimalField(label=_("Amount to"), required=False, decimal_places=2, max_digits=18)

    field_order = ["q", "stage", "status", "owner", "team", "customer", "close_from", "close_to", "amount_min",
                   "amount_max"]

    def filter(self, qs):
        qs = super().filter(qs)
        data = self.cleaned_data
        if data.get("q"):
            qs = qs.filter(Q(name__icontains=data["q"]) | Q(external_id__icontains=data["q"]))
        if data.get("stage"):
            qs = qs.filter(stage=data["stage"])
        if data.get("status"):
            qs = qs.filter(status=data["status"])
        if data.get("close_from"):
            qs = qs.filter(expected_close__gte=data["close_from"])
        if data.get("close_to"):
            qs = qs.filter(expected_close__lte=data["close_to"])
        if data.get("amount_min") is not None:
            qs = qs.filter(amount__gte=data["amount_min"])
        if data.get("amount_max") is not None:
            qs = qs.filter(amount__lte=data["amount_max"])
        return qs


# -- stages -----------------------------------------------------------------------------------------------
class StageForm(forms.Form):
    code = forms.SlugField(label=label(Stage, "code"), max_length=32)
    name = forms.CharField(label=label(Stage, "name"), max_length=100)
    probability = forms.DecimalField(label=label(Stage, "probability"), max_digits=5, decimal_places=2,
                                     min_value=Decimal(0), max_value=Decimal(100), initial=Decimal(0),
                                     help_text=Stage._meta.get_field("probability").help_text)
    is_won = forms.BooleanField(label=label(Stage, "is_won"), required=False)
    is_lost = forms.BooleanField(label=label(Stage, "is_lost"), required=False)
    required_fields = forms.MultipleChoiceField(label=label(Stage, "required_fields"), choices=RequiredField.choices,
                                                required=False, widget=forms.CheckboxSelectMultiple,
                                                help_text=Stage._meta.get_field("required_fields").help_text)
    active = forms.BooleanField(label=label(Stage, "active"), required=False, initial=True)

    def __init__(self, *args, instance: Stage | None = None, **kwargs):
        self.instance = instance
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {"name": instance.name, "probability": instance.probability.normalize(),
                                 "is_won": instance.is_won, "is_lost": instance.is_lost,
                                 "required_fields": list(instance.required_fields), "active": instance.active}
        super().__init__(*args, **kwargs)
        if instance is not None:
            del self.fields["code"]  # other records and imports name the stage by its code
        else:
            del self.fields["active"]

    def clean_required_fields(self):
        # keep the order of RequiredField, whatever order the browser sent
        chosen = set(self.cleaned_data["required_fields"])
        return [value for value in RequiredField.values if value in chosen]


# -- activities -------------------------------------------------------------------------------------------
class ActivityForm(forms.Form):
    kind = forms.ChoiceField(label=label(Activity, "kind"), choices=ActivityKind.choices)
    subject = forms.CharField(label=label(Activity, "subject"), max_length=200)
    opportunity = forms.ModelChoiceField(label=label(Activity, "opportunity"), queryset=None, required=False)
    customer = forms.ModelChoiceField(label=label(Activity, "customer"), queryset=None, required=False,
                                      help_text=_("Empty: the opportunity's customer."))
    contact = forms.ModelChoiceField(label=label(Activity, "contact"), queryset=None, required=False)
    owner = forms.ModelChoiceField(label=label(Activity, "owner"), queryset=None)
    due_at = forms.DateTimeField(label=label(Activity, "due_at"), required=False, widget=DATETIME)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["opportunity"].queryset = (access.visible_opportunities(user)
                                               .filter(status=OpportunityStatus.OPEN).select_related("customer")
                                               .order_by("customer__name", "name"))
        self.fields["opportunity"].label_from_instance = lambda o: f"{o.name} · {o.customer.name}"
        self.fields["customer"].queryset = visible_to(user, Customer).order_by("name")
        self.fields["contact"].queryset = access.visible_contacts(user).select_related("customer").order_by(
            "customer__name", "name")
        self.fields["contact"].label_from_instance = lambda c: f"{c.name} · {c.customer.name}"
        self.fields["owner"].queryset = selectors.owner_choices(user)
        self.fields["owner"].label_from_instance = _person_label

    def clean(self):
        data = super().clean()
        if not data.get("customer") and data.get("opportunity"):
            data["customer"] = data["opportunity"].customer
        if not data.get("customer") and not self.has_error("customer") and not self.has_error("opportunity"):
            self.add_error("customer", _("Choose a customer or an opportunity."))
        return data


class ActivityDoneForm(forms.Form):
    outcome = forms.CharField(label=label(Activity, "outcome"), widget=forms.Textarea(attrs={"rows": 3}),
                              help_text=_("What came of it, and what happens next."))


class ActivityFilter(forms.Form):
    SCOPES = [("", _("Team (all I may see)")), ("mine", _("Mine"))]
    STATES = [("", _("All")), ("open", _("Open")), ("overdue", _("Overdue")), ("done", _("Done"))]

    scope = forms.ChoiceField(label=_("Whose"), choices=SCOPES, required=False)
    status = forms.ChoiceField(label=_("Status"), choices=STATES, required=False)
    kind = forms.ChoiceField(label=_("Kind"), choices=[("", _("All")), *ActivityKind.choices], required=False)
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=None, required=False)

    def __init__(self, *args, user, now, **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.now = user, now
        self.fields["owner"].queryset = visible_to(user, Salesperson).order_by("employee_no")
        self.fields["owner"].label_from_instance = _person_label

    def filter(self, qs):
        data = self.cleaned_data
        if data.get("scope") == "mine":
            me = own_salesperson(self.user)
            qs = qs.filter(owner=me) if me else qs.none()
        if data.get("status") == "open":
            qs = qs.filter(done_at__isnull=True)
        elif data.get("status") == "overdue":
            qs = qs.filter(done_at__isnull=True, due_at__lt=self.now)
        elif data.get("status") == "done":
            qs = qs.filter(done_at__isnull=False)
        if data.get("kind"):
            qs = qs.filter(kind=data["kind"])
        if data.get("owner"):
            qs = qs.filter(owner=data["owner"])
        return qs
