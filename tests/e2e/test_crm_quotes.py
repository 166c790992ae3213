"""Quotes in the browser: Alice types a quote with a discount above her limit (the preview prices it as she types),
submits it; Carol approves it with one click from her approvals list; Alice sends it, the customer accepts, and
the order is booked; the PDF downloads."""

from __future__ import annotations

from decimal import Decimal

from salesops.crm.models import Quote, QuoteStatus
from salesops.org.models import OrderLine
from tests.e2e.conftest import sign_in


def test_a_quote_from_the_form_to_the_order(live_world, live_server, page, screenshot):
    world = live_world
    sign_in(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/crm/quotes/new/")
    page.select_option("[data-testid=quote-form] select[name=customer]", str(world.customers.a.pk))
    row = page.locator("[data-testid=line-1]")
    row.locator("select[name=line_product]").select_option(str(world.product.pk))
    row.locator("input[name=line_quantity]").fill("3")
    row.locator("input[name=line_discount]").fill("25")
    row.locator("input[name=line_discount]").dispatch_event("change")
    page.wait_for_selector("[data-testid=preview-total]:has-text('¥2,250.00')")
    screenshot(page, "quote-new-alice-zh")
    page.click("[data-testid=quote-save]")
    page.wait_for_selector("[data-testid=quote-total]")
    quote = Quote.objects.get()
    assert "¥2,250.00" in page.text_content("[data-testid=quote-total]")
    page.click("[data-testid=quote-submit]")
    page.wait_for_selector("[data-testid=quote-approvals] >> text=25.00%")
    assert Quote.objects.get(pk=quote.pk).status == QuoteStatus.PENDING

    page.context.clear_cookies()
    sign_in(page, live_server.url, "carol")
    page.goto(f"{live_server.url}/crm/quotes/approvals/")
    row = page.locator(f"[data-testid=approval-{quote.number}]")
    screenshot(page, "quote-approvals-carol-zh")
    row.locator("button[value=approve]").click()
    page.wait_for_selector(f"[data-testid=approval-{quote.number}] [data-testid=approval-outcome]")
    assert Quote.objects.get(pk=quote.pk).status == QuoteStatus.APPROVED

    page.context.clear_cookies()
    sign_in(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/crm/quotes/{quote.pk}/")
    page.click("[data-testid=quote-send]")
    page.wait_for_selector("[data-testid=quote-accept]")
    page.click("[data-testid=quote-accept]")
    page.wait_for_selector(f"[data-testid=quote-order]:has-text('{quote.number}')")
    line = OrderLine.objects.get(order_no=quote.number)
    assert (line.net_amount, [c.salesperson_id for c in line.credits.all()]) == (
        Decimal("2250.00"), [world.people["alice"].pk])
    screenshot(page, "quote-accepted-alice-zh")
    with page.expect_download() as download:
        page.click("[data-testid=quote-pdf]")
    with open(download.value.path(), "rb") as pdf:
        assert pdf.read(4) == b"%PDF"
