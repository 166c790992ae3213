"""End-to-end tests: the real pages in headless Debian Chromium driven by Playwright.

Playwright's own browser download does not work offline, so we launch ``/usr/bin/chromium`` (installed by
``make test``). Screenshots of what each persona sees land in ``screenshots/`` at the repository root.
"""

from __future__ import annotations

import os
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from salesops.org import services as org

# Playwright's sync API runs an event loop in this thread; the ORM calls in fixtures are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
CHROMIUM = os.environ.get("SALESOPS_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync", "--disable-quic"]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def chromium():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make browser` (apt-get install chromium fonts-wqy-zenhei)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshot():
    SCREENSHOTS.mkdir(exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def live_world(transactional_db, world):
    """The persona world plus sales today: Alice ¥5,000.00, Bob ¥7,000.00."""
    today = timezone.localdate()
    for key, ext, qty, customer in [("alice", "E2E-A", 5, world.customers.a), ("bob", "E2E-B", 7, world.customers.b)]:
        org.order_line_create(actor=None, credits=[(world.people[key], Decimal(100))], external_id=ext, order_no=ext,
                              date=today, customer=customer, product=world.product, quantity=Decimal(qty),
                              unit_price=Decimal("1000.00"), cost=Decimal("400.00"))
    return world


def sign_in(page, base, username):
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", f"pw-{username}")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


