"""Quote pages: the list, the new-quote form with errors per line and field, the preview, the quote page's steps,
the approvals list with one-click decisions (htmx), the downloads; and who may open and press what: an outsider
(Bob on Alice's quote) gets 404, HR 403, finance reads but every action is 403."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from salesops.crm import quotes as q
from salesops.crm.models import Quote, QuoteApproval, QuoteStatus
from salesops.org.models import OrderLine

D = Decimal
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def speaks_english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def quote(world):
    """Alice's draft to 甲公司: 2 × SW-1 at 30 % off (above her 10 % limit)."""
    return q.quote_create(actor=None, customer=world.customers.a, owner=world.people["alice"], at=T0,
                          lines=[(world.product, D(2), D("0.3"))])


def form_data(world, rows, **header):
    data = {"customer": world.customers.a.pk, "owner": world.people["alice"].pk, "language": "en",
            "valid_until": "", "opportunity": "", "notes": "", **header,
            "line_product": [], "line_quantity": [], "line_discount": [], "line_price": []}
    for product, quantity, discount, price in rows:
        data["line_product"].append(product)
        data["line_quantity"].append(quantity)
        data["line_discount"].append(discount)
        data["line_price"].append(price)
    return data


def test_a_rep_makes_a_quote_from_the_form(world, client_for, rep_alice):
    client = client_for(rep_alice)
    page = client.get(reverse("crm:quote-new"))
    assert page.status_code == 200 and "¥1,000.00" in page.content.decode()  # the list price beside the product
    pk = world.product.pk
    response = client.post(reverse("crm:quote-new"), form_data(world, [
        (pk, "3", "5", ""), ("", "1", "", ""), (pk, "1", "", "900.00")]))
    quote = Quote.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("crm:quote", args=[quote.pk])
    assert [(ln.quantity, ln.discount, ln.list_price, ln.net_amount) for ln in quote.lines.order_by("pk")] == [
        (D(3), D("0.05"), D("1000.00"), D("2850.00")), (D(1), D(0), D("900.00"), D("900.00"))]
    assert quote.owner == world.people["alice"] and quote.language == "en"


def test_the_form_names_each_bad_line_and_field_and_saves_nothing(world, client_for, rep_alice):
    pk = world.product.pk
    response = client_for(rep_alice).post(reverse("crm:quote-new"), form_data(world, [
        (pk, "1", "10", ""), ("", "1", "", ""), (pk, "1", "120", ""), (pk, "1", "0", "-5")]))
    assert response.status_code == 200 and not Quote.objects.exists()
    html = response.content.decode()
    # the empty row is dropped and the rows renumbered, so "Line 2" is the second row shown
    assert 'data-testid="line-2-discount-error"' in html and "Line 2: the discount 120% is more than 100%." in html
    assert 'data-testid="line-3-price-error"' in html and "Line 3: the price -5 is negative." in html
    assert 'data-testid="line-1-' not in html


def test_the_form_refuses_someone_elses_customer_on_its_field(world, client_for, rep_alice):
    response = client_for(rep_alice).post(reverse("crm:quote-new"), form_data(
        world, [(world.product.pk, "1", "", "")], customer=world.customers.b.pk))
    assert response.status_code == 200 and not Quote.objects.exists()
    assert "customer" in response.context["form"].errors


def test_the_preview_prices_lines_without_saving(world, client_for, rep_alice):
    client = client_for(rep_alice)
    response = client.post(reverse("crm:quote-preview"), form_data(world, [(world.product.pk, "2", "12.5", "")]))
    assert response.status_code == 200 and not Quote.objects.exists()
    assert [p.net_amount for p in response.context["priced"]] == [D("1750.00")]
    assert "¥1,750.00" in response.content.decode()
    response = client.post(reverse("crm:quote-preview"), form_data(world, [(world.product.pk, "2", "101", "")]))
    assert "Line 1: the discount 101% is more than 100%." in response.content.decode()


def test_more_lines_keeps_what_was_typed(world, client_for, rep_alice):
    data = form_data(world, [(world.product.pk, "2", "5", "")], more="1")
    response = client_for(rep_alice).post(reverse("crm:quote-new"), data)
    assert response.status_code == 200 and not Quote.objects.exists()
    rows = response.context["rows"]
    assert rows[0]["quantity"] == "2" and len(rows) == 1 + 6


def test_the_whole_path_on_the_pages(world, client_for, rep_alice, manager_carol, quote):
    alice = client_for(rep_alice)
    page = reverse("crm:quote", args=[quote.pk])
    assert "submit" in alice.get(page).context["actions"]
    alice.post(reverse("crm:quote-step", args=[quote.pk, "submit"]))
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.PENDING
    assert client_for(rep_alice).get(reverse("crm:quote-approvals")).status_code == 403

    carol = client_for(manager_carol)
    approvals = carol.get(reverse("crm:quote-approvals"))
    assert [a.quote for a in approvals.context["pending"]] == [quote]
    # one click, from the list, with htmx: the row comes back decided
    row = carol.post(reverse("crm:quote-decide", args=[quote.pk]), {"decision": "approve", "comment": ""},
                     HTTP_HX_REQUEST="true")
    assert row.status_code == 200 and 'data-testid="approval-outcome"' in row.content.decode()
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.APPROVED

    alice = client_for(rep_alice)
    alice.post(reverse("crm:quote-step", args=[quote.pk, "send"]))
    alice.post(reverse("crm:quote-step", args=[quote.pk, "accept"]))
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.ACCEPTED
    assert OrderLine.objects.get(order_no=quote.number).net_amount == D("1400.00")
    html = alice.get(page).content.decode()
    assert quote.number in html and "¥1,400.00" in html and "approved" in html


def test_a_rejection_without_a_comment_is_refused_on_the_page(world, client_for, rep_alice, manager_carol, quote):
    q.quote_submit(actor=rep_alice, quote=quote)
    carol = client_for(manager_carol)
    row = carol.post(reverse("crm:quote-decide", args=[quote.pk]), {"decision": "reject", "comment": ""},
                     HTTP_HX_REQUEST="true")
    assert "a rejection needs a comment" in row.content.decode()
    assert Quote.objects.get(pk=quote.pk).status == QuoteStatus.PENDING
    response = carol.post(reverse("crm:quote-decide", args=[quote.pk]), {"decision": "reject", "comment": "太低"})
    assert response.status_code == 302
    assert QuoteApproval.objects.get(quote=quote).comment == "太低"
    assert Quote.objects.get(pk=quote.pk).status == QuoteStatus.REJECTED
    assert "edit" in client_for(rep_alice).get(reverse("crm:quote", args=[quote.pk])).context["actions"]


def test_the_owner_cannot_approve_their_own_quote(world, client_for, manager_carol):
    own = q.quote_submit(actor=manager_carol, quote=q.quote_create(
        actor=manager_carol, customer=world.customers.a, owner=world.people["carol"],
        lines=[(world.product, D(1), D("0.5"))]))
    carol = client_for(manager_carol)
    assert carol.post(reverse("crm:quote-decide", args=[own.pk]), {"decision": "approve"}).status_code == 403
    assert "approve" not in carol.get(reverse("crm:quote", args=[own.pk])).context["actions"]
    assert Quote.objects.get(pk=own.pk).status == QuoteStatus.PENDING


def test_the_list_filters_by_status_and_owner(world, client_for, manager_carol, quote):
    bobs = q.quote_create(actor=None, customer=world.customers.b, owner=world.people["bob"],
                          lines=[(world.product, D(1), D(0))])
    carol = client_for(manager_carol)
    html = carol.get(reverse("crm:quotes")).content.decode()
    assert quote.number in html and bobs.number not in html  # Bob is not in Carol's team
    html = client_for(world.users["victor"]).get(reverse("crm:quotes"), {"status": "draft",
                                                                         "owner": world.people["bob"].pk})
    assert bobs.number in html.content.decode() and quote.number not in html.content.decode()
    export = carol.get(reverse("crm:quotes"), {"format": "csv"})
    assert quote.number in export.content.decode("utf-8-sig")


def test_the_edit_page_changes_the_lines_of_a_draft(world, client_for, rep_alice, quote):
    client = client_for(rep_alice)
    page = client.get(reverse("crm:quote-edit", args=[quote.pk]))
    assert page.context["rows"][0]["discount"] == "30"
    response = client.post(reverse("crm:quote-edit", args=[quote.pk]), {
        "language": "zh-hans", "notes": "含安装", "opportunity": "", "valid_until": "2026-04-30",
        "line_product": [world.product.pk], "line_quantity": ["1"], "line_discount": ["10"], "line_price": [""]})
    assert response.status_code == 302
    quote.refresh_from_db()
    assert (quote.notes, quote.language, quote.valid_until) == ("含安装", "zh-hans", dt.date(2026, 4, 30))
    assert [ln.net_amount for ln in quote.lines.all()] == [D("900.00")]


STEPS = ["submit", "send", "accept", "decline"]


def test_outsiders_get_404_hr_403_and_finance_reads_only(world, client_for, rep_bob, hr_henry, finance_dan,
                                                         manager_erin, quote):
    reads = [reverse(name, args=[quote.pk]) for name in ("crm:quote", "crm:quote-pdf", "crm:quote-xlsx",
                                                          "crm:quote-edit")]
    posts = [reverse("crm:quote-step", args=[quote.pk, step]) for step in STEPS] + [
        reverse("crm:quote-decide", args=[quote.pk])]
    for outsider in (rep_bob, manager_erin):
        client = client_for(outsider)
        assert [client.get(url).status_code for url in reads] == [404] * 4
        assert [client.post(url, {"decision": "approve"}).status_code for url in posts] == [404] * 5
    client = client_for(hr_henry)
    for url in (reverse("crm:quotes"), reverse("crm:quote-new"), reverse("crm:quote-approvals"),
                reverse("crm:quote", args=[quote.pk]), reverse("crm:quote-pdf", args=[quote.pk])):
        assert client.get(url).status_code == 403, url
    client = client_for(finance_dan)
    assert client.get(reverse("crm:quotes")).status_code == 200
    assert [client.get(url).status_code for url in reads] == [200, 200, 200, 403]
    assert client.get(reverse("crm:quote", args=[quote.pk])).context["actions"] == []
    assert client.get(reverse("crm:quote-new")).status_code == 403
    assert client.post(reverse("crm:quote-new"), form_data(world, [(world.product.pk, "1", "", "")])
                       ).status_code == 403
    assert client.post(reverse("crm:quote-preview"), {}).status_code == 403
    assert [client.post(url, {"decision": "approve"}).status_code for url in posts] == [403] * 5
    assert Quote.objects.get(pk=quote.pk).status == QuoteStatus.DRAFT
    assert client_for(rep_bob).get(reverse("crm:quotes")).status_code == 200  # his own (empty) list


def test_the_downloads_are_named_after_the_quote(world, client_for, rep_alice, quote):
    client = client_for(rep_alice)
    pdf = client.get(reverse("crm:quote-pdf", args=[quote.pk]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert f'filename="{quote.number}.pdf"' in pdf["Content-Disposition"]
    xlsx = client.get(reverse("crm:quote-xlsx", args=[quote.pk]))
    assert xlsx.content.startswith(b"PK") and f"{quote.number}.xlsx" in xlsx["Content-Disposition"]


def test_an_expired_approved_quote_gets_a_new_validity_and_is_sent(world, client_for, rep_alice, finance_dan):
    quote = q.quote_submit(actor=None, quote=q.quote_create(
        actor=None, customer=world.customers.a, owner=world.people["alice"], valid_until=dt.date(2026, 1, 31),
        at=dt.datetime(2026, 1, 5, tzinfo=dt.UTC), lines=[(world.product, D(1), D(0))]))
    client = client_for(rep_alice)
    client.post(reverse("crm:quote-step", args=[quote.pk, "send"]))
    assert Quote.objects.get(pk=quote.pk).status == QuoteStatus.APPROVED  # expired: refused
    assert client_for(finance_dan).post(reverse("crm:quote-validity", args=[quote.pk]),
                                        {"valid_until": "2099-12-31"}).status_code == 403
    client = client_for(rep_alice)
    assert client.get(reverse("crm:quote", args=[quote.pk])).context["validity_editable"]
    client.post(reverse("crm:quote-validity", args=[quote.pk]), {"valid_until": "2099-12-31"})
    client.post(reverse("crm:quote-step", args=[quote.pk, "send"]))
    quote.refresh_from_db()
    assert (quote.valid_until, quote.status) == (dt.date(2099, 12, 31), QuoteStatus.SENT)
