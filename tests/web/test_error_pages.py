"""The 404, 403 and 500 pages: the first two inside the layout in the reader's language, the last standing alone
(Django renders it without a request, so it must not need the context processors)."""

from __future__ import annotations

import pytest
from django.template import loader
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import translation

from salesops.core.models import Profile


def as_user(user, language: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def zh(message: str) -> str:
    with translation.override("zh-hans"):
        return translation.gettext(message)


@override_settings(DEBUG=False)
def test_it_shows_a_chinese_user_the_404_inside_the_layout(rep_alice):
    # Given Alice chose Chinese (her browser asks for English)
    Profile.objects.update_or_create(user=rep_alice, defaults={"language": "zh-hans"})
    # When she opens an address that does not exist
    response = as_user(rep_alice, "en").get("/no-such-page/")
    # Then she gets the 404 in Chinese, with the top bar and the menu around it
    html = response.content.decode()
    assert response.status_code == 404
    assert '<html lang="zh-hans">' in html
    assert 'class="topbar"' in html and 'class="sidebar"' in html
    assert zh("Sign out") == "退出登录" and "退出登录" in html
    assert f"<h1>{zh('Page not found')}</h1>" in html
    assert f'href="{reverse("home")}" data-testid="error-home">{zh("Back to the home page")}<' in html
    assert "Not Found" not in html


@override_settings(DEBUG=False)
def test_a_404_raised_by_a_view_uses_the_same_page(rep_alice):
    response = as_user(rep_alice, "en").get(reverse("crm:quote", args=[999999]))
    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in response.content.decode()
    assert 'class="sidebar"' in response.content.decode()


@override_settings(DEBUG=False)
def test_a_refused_page_says_so_inside_the_layout(hr_henry):
    response = as_user(hr_henry, "en").get(reverse("crm:analytics"))
    html = response.content.decode()
    assert response.status_code == 403
    assert "<h1>Access refused</h1>" in html and 'class="topbar"' in html
    assert 'data-testid="error-home"' in html


@override_settings(DEBUG=False)
def test_a_visitor_who_is_not_signed_in_gets_the_404_without_the_menu(db):
    response = Client(HTTP_ACCEPT_LANGUAGE="en").get("/no-such-page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in html and 'class="sidebar"' not in html


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_500_page_renders_without_a_request_or_a_database(language):
    # Django's handler500 renders the template with an empty context and no request
    with translation.override(language):
        html = loader.get_template("500.html").render()
        assert f"<h1>{translation.gettext('Server error')}</h1>" in html
    assert f'<html lang="{language}">' in html
    assert 'href="/"' in html
