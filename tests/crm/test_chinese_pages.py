"""The crm pages in Chinese: dates in form fields the browser can read, words with more than one meaning in
their own context, and the move form offering the next step."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from salesops.crm import quotes as services

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
VALID = dt.date.today() + dt.timedelta(days=40)  # noqa: DTZ011 - any day ahead will do


@pytest.fixture
def quote(world):
    return services.quote_create(actor=None, customer=world.customers.a, owner=world.people["alice"],
                                 lines=[(world.product, Decimal(2), Decimal("0.05"))], valid_until=VALID)


def test_a_quote_edited_in_chinese_keeps_its_validity(client_for, rep_alice, quote):
    client = client_for(rep_alice)
    html = client.get(reverse("crm:quote-edit", args=[quote.pk]), **ZH).content.decode()
    # the date field holds the ISO date the browser's date input reads, not the localised YYYY/MM/DD
    assert f'value="{VALID:%Y-%m-%d}"' in html


def test_a_deals_status_and_its_stage_history_read_as_deal_words_in_chinese(client_for, rep_alice, deal_a):
    html = client_for(rep_alice).get(reverse("crm:opportunity", args=[deal_a.pk]), **ZH).content.decode()
    assert "进行中" in html and "至今" not in html
    assert "开始日期" not in html and "结束日期" not in html  # the from/to stage headers, not date-range words


def test_the_move_form_offers_the_next_stage_first(client_for, rep_alice, deal_a, stages):
    html = client_for(rep_alice).get(reverse("crm:opportunity", args=[deal_a.pk])).content.decode()
    assert f'<option value="{stages.qualified.pk}" selected>' in html
    assert f'<option value="{stages.lost.pk}" selected>' not in html
