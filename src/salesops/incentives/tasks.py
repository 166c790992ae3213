"""Background tasks of the incentives app (Celery; eager in the embedded demo)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="incentives.run_execute")
def run_execute(run_id: int) -> str:
    from salesops.incentives import services

    return services.run_execute(run_id).status
