"""The Celery application: background work (calculation runs) goes through a real task queue.

With ``SALESOPS_BROKER_URL`` set (e.g. ``redis://127.0.0.1:6379/0``) tasks go to that broker and a worker runs
them: ``SALESOPS_BROKER_URL=… celery -A salesops.celery worker``. Without it (the embedded demo, the tests) tasks
run eagerly in the process that sends them, so nothing else has to be started.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesops.settings")

app = Celery("salesops")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
