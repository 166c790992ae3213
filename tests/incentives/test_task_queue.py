"""A run started from the web goes through a real broker: with ``SALESOPS_BROKER_URL`` set the task is sent to
Redis and a Celery worker (here in a thread) calculates it. Skipped only where no Redis server answers (CI and
the development machine run one at 127.0.0.1:6379)."""

from __future__ import annotations

import os
import time

import pytest
import redis
from celery.contrib.testing.worker import start_worker

from salesops.celery import app
from salesops.incentives import services
from salesops.incentives.models import CalculationRun, RunStatus

pytestmark = pytest.mark.django_db(transaction=True)


def fresh_connections() -> None:
    """Forget connection and producer pools made for another broker earlier in this process."""
    app.close()
    app.amqp._producer_pool = None


@pytest.fixture
def broker():
    url = os.environ.get("SALESOPS_TEST_BROKER_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip(f"no Redis server at {url}")
    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager")}
    app.conf.update(broker_url=url, task_always_eager=False)
    fresh_connections()
    redis.Redis.from_url(url).flushdb()
    yield url
    app.conf.update(saved)
    fresh_connections()


def test_a_run_is_sent_to_the_broker_and_calculated_by_a_worker(world, plan, ops_olivia, broker):
    run = services.run_enqueue(actor=ops_olivia, plan=plan, period_code="2025-11")
    queued = redis.Redis.from_url(broker).llen("celery")
    assert queued == 1 and CalculationRun.objects.get(pk=run.pk).status == RunStatus.RUNNING  # nothing ran here
    with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=10):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            run.refresh_from_db()
            if run.status != RunStatus.RUNNING:
                break
            time.sleep(0.2)
    assert run.status == RunStatus.CALCULATED and run.progress == 100
    assert run.payouts.count() == 4
