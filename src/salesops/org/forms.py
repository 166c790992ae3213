"""Forms for editing the organisation and filtering its lists. Saving goes through org.services."""

from __future__ import annotations

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from salesops.org.models import (
    Assignment,
    Company,
    Customer,
    CustomerSegment,
    LineStatus,
    OrderLine,
    Payment,
    Product,
    ProductCategory,
    Region,
    Salesperson,
    SalespersonStatus,
    Team,
    active_on,
)

DATE = forms.DateInput(attrs={"type": "date"})


class TreeNodeForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    code = forms.CharField(label=_("Code"), max_length=64)
    parent = forms.ModelChoiceField(label=_("Parent"), queryset=Region.objects.none(), required=False)

    def __init__(self, *args, model, node=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = model.objects.order_by("path")
        self.fields["parent"].label_from_instance = lambda n: "— " * n.depth + n.name
        if model is Team:
            self.fields["manager"] = forms.ModelChoiceField(
                label=_("Manager"), queryset=Salesperson.objects.exclude(status=SalespersonStatus.LEFT), required=False)
        if node is not None and not self.is_bound:
            self.initial = {"name": node.name, "code": node.code, "parent": node.parent_id,
                            "manager": getattr(node, "manager_id", None)}


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = ["sku", "name", "category", "list_price", "standard_cost", "unit", "active"]


class CustomerForm(forms.ModelForm):
    class Meta:
        model = Customer
        fields = ["external_id", "name", "segment", "region", "industry", "owner", "key_account"]


class SalespersonForm(forms.ModelForm):
    class Meta:
        model = Salesperson
        fields = ["employee_no", "name", "email", "hire_date", "leave_date", "title", "level", "status", "ramp_schedule"]
        widgets = {"hire_date": DATE, "leave_date": DATE}


class AssignmentForm(forms.ModelForm):
    class Meta:
        model = Assignment
        fields = ["team", "manager", "region", "start_date", "end_date"]
        widgets = {"start_date": DATE, "end_date": DATE}


class OrderLineForm(forms.ModelForm):
    """A line typed by hand. Credits are written as in imports: ``E101:60;E201:40`` or ``E101`` for 100%."""

    net_amount = forms.DecimalField(label=_("Net amount"), required=False, max_digits=18, decimal_places=2,
                                    help_text=_("Empty: quantity × unit price × (1 − discount), rounded by the company's policy."))
    original_external_id = forms.CharField(label=_("Original line (for returns and cancellations)"), required=False,
                                           help_text=_("The external id of the line this one reverses."))
    credits = forms.CharField(label=_("Credited salespeople"),
                              help_text=_("Employee number and split %, e.g. E101:60;E201:40, or E101 alone for 100%."))

    class Meta:
        model = OrderLine
        fields = ["external_id", "order_no", "date", "customer", "product", "quantity", "unit_price", "discount",
                  "net_amount", "cost", "status"]
        widgets = {"date": DATE}

    def clean_original_external_id(self):
        value = self.cleaned_data["original_external_id"].strip()
        if not value:
            return None
        original = OrderLine.objects.filter(external_id=value).first()
        if original is None:
            raise forms.ValidationError(_("No order line has the external id “%(value)s”.") % {"value": value})
        return original

    def clean_credits(self):
        from salesops.imports.parsing import parse_credits

        try:
            parsed = parse_credits(self.cleaned_data["credits"])
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None
        people = {p.employee_no: p for p in Salesperson.objects.filter(employee_no__in=[e for e, _p in parsed])}
        unknown = [e for e, _p in parsed if e not in people]
        if unknown:
            raise forms.ValidationError(_("Unknown employee numbers: %(numbers)s.") % {
                "numbers": ", ".join(unknown)})
        return [(people[e], pct) for e, pct in parsed]

    def _post_clean(self):
        pass  # the service validates the whole line (and names the field); the model is never saved from here


class PaymentForm(forms.ModelForm):
    class Meta:
        model = Payment
        fields = ["date", "amount", "external_id"]
        widgets = {"date": DATE}

    def _post_clean(self):
        pass  # validated by org.services.payment_create


class CompanyForm(forms.ModelForm):
    class Meta:
        model = Company
        fields = ["name", "currency_code", "currency_symbol", "fiscal_year_start_month", "rounding_policy", "display_unit",
                  "default_language"]


# -- list filters -----------------------------------------------------------------------------------------
class PeopleFilter(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All")), *SalespersonStatus.choices])
    team = forms.ModelChoiceField(label=_("Team (with sub-teams)"), queryset=Team.objects.order_by("path"), required=False)
    on = forms.DateField(label=_("As of"), required=False, widget=DATE,
                         help_text=_("Team and manager in effect on this date (default: today)."))

    def filter(self, qs):
        data = self.cleaned_data
        if data.get("q"):
            qs = qs.filter(Q(name__icontains=data["q"]) | Q(employee_no__icontains=data["q"]))
        if data.get("status"):
            qs = qs.filter(status=data["status"])
        if data.get("team"):
            qs = qs.filter(pk__in=Assignment.objects.filter(active_on(self.as_of), team__path__startswith=data["team"].path)
                           .values("salesperson_id"))
        return qs

    @property
    def as_of(self):
        from salesops.org.access import today

        return (self.cleaned_data.get("on") if self.is_bound and self.is_valid() else None) or today()


class CustomerFilter(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    segment = forms.ModelChoiceField(label=_("Segment"), queryset=CustomerSegment.objects.order_by("path"), required=False)
    region = forms.ModelChoiceField(label=_("Region"), queryset=Region.objects.order_by("path"), required=False)

    def filter(self, qs):
        data = self.cleaned_data
        if data.get("q"):
            qs = qs.filter(Q(name__icontains=data["q"]) | Q(external_id__icontains=data["q"]))
        if data.get("segment"):
            qs = qs.filter(segment__path__startswith=data["segment"].path)
        if data.get("region"):
            qs = qs.filter(region__path__startswith=data["region"].path)
        return qs


class ProductFilter(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    category = forms.ModelChoiceField(label=_("Category"), queryset=ProductCategory.objects.order_by("path"), required=False)

    def filter(self, qs):
        data = self.cleaned_data
        if data.get("q"):
            qs = qs.filter(Q(name__icontains=data["q"]) | Q(sku__icontains=data["q"]))
        if data.get("category"):
            qs = qs.filter(category__path__startswith=data["category"].path)
        return qs


class LineFilter(forms.Form):
    date_from = forms.DateField(label=_("From"), required=False, widget=DATE)
    date_to = forms.DateField(label=_("To"), required=False, widget=DATE)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All")), *LineStatus.choices])
    q = forms.CharField(label=_("Order, customer or SKU"), required=False)
    salesperson = forms.ModelChoiceField(label=_("Salesperson"), queryset=Salesperson.objects.none(), required=False)

    def __init__(self, *args, people=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["salesperson"].queryset = people if people is not None else Salesperson.objects.all()

    def filter(self, qs):
        data = self.cleaned_data
        if data.get("date_from"):
            qs = qs.filter(date__gte=data["date_from"])
        if data.get("date_to"):
            qs = qs.filter(date__lte=data["date_to"])
        if data.get("status"):
            qs = qs.filter(status=data["status"])
        if data.get("q"):
            q = data["q"]
            qs = qs.filter(Q(order_no__icontains=q) | Q(customer__name__icontains=q) | Q(product__sku__icontains=q))
        if data.get("salesperson"):
            qs = qs.filter(credits__salesperson=data["salesperson"])
        return qs
