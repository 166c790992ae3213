"""/api/audit-events/: the audit log, for administrators only."""

from __future__ import annotations

from salesops.core.models import AuditEvent
from tests.api.conftest import EVERYONE, results, statuses


def test_it_refuses_the_audit_log_to_everyone_but_admins(api_as, world):
    others = [k for k in EVERYONE if k != "ada"]
    event = AuditEvent.objects.first().pk
    codes = statuses(api_as, others, lambda client: [
        client.get("/api/audit-events/"), client.get(f"/api/audit-events/{event}/")])
    assert codes == dict.fromkeys(others, (403, 403))


def test_it_lists_every_event_newest_first_for_admins(api_as, world):
    ids = results(api_as("ada").get("/api/audit-events/?limit=1000"))
    assert ids == list(AuditEvent.objects.order_by("-at", "-pk").values_list("pk", flat=True))
    assert len(ids) == AuditEvent.objects.count() > 20


def test_it_shows_who_changed_what_through_the_api(api_as, world):
    client = api_as("ada")
    response = client.patch(f"/api/products/{world.product.pk}/", {"name": "CRM 套件 2.0"})
    assert response.status_code == 200
    (event,) = client.get(f"/api/audit-events/?event=product.updated&subject_id={world.product.pk}").json()["results"]
    assert {k: event[k] for k in ("actor", "actor_username", "event", "subject_type", "subject_id", "old", "new")} == {
        "actor": world.users["ada"].pk, "actor_username": "ada", "event": "product.updated",
        "subject_type": "org.product", "subject_id": str(world.product.pk),
        "old": {"name": "CRM 套件"}, "new": {"name": "CRM 套件 2.0"},
    }
    mine = results(client.get(f"/api/audit-events/?actor={world.users['ada'].pk}"))
    assert mine == [event["id"]]


def test_it_filters_by_object_type_and_day(api_as, world):
    client = api_as("ada")
    lines = client.get("/api/audit-events/?subject_type=org.orderline").json()
    assert {e["subject_repr"] for e in lines["results"]} == {"SO-A/A1", "SO-B/B1", "SO-S/S1"}
    assert client.get("/api/audit-events/?since=2999-01-01").json()["count"] == 0
    assert "since" in client.get("/api/audit-events/?since=tomorrow").json()
    assert "actor" in client.get("/api/audit-events/?actor=ada").json()


def test_nobody_writes_the_audit_log_through_the_api(api_as, world):
    client = api_as("ada")
    event = AuditEvent.objects.first()
    assert client.post("/api/audit-events/", {"event": "x"}).status_code == 405
    assert client.patch(f"/api/audit-events/{event.pk}/", {"event": "x"}).status_code == 405
    assert client.delete(f"/api/audit-events/{event.pk}/").status_code == 405
