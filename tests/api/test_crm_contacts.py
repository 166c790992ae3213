"""/api/contacts/: the people at a customer, seen with the customer (a rep their own customers', a manager the
team's, ops/admin/finance all, HR nothing), changed by the customer's side only (finance reads); one primary
contact per customer.

Contacts: 钱总 at 甲公司 (Alice's customer, ``boss_a``, primary) and 孙经理 at 乙公司 (Bob's)."""

from __future__ import annotations

import pytest

from salesops.crm.models import Contact
from tests.api.conftest import EVERYONE, audit_count, last_audit, results, statuses
from tests.crm.conftest import boss_a  # noqa: F401 - a fixture, used by name

BOTH = sorted(["钱总", "孙经理"])
VISIBLE = {
    "alice": ["钱总"], "amy": [], "bob": ["孙经理"], "carol": ["钱总"], "erin": ["孙经理"], "victor": BOTH,
    "olivia": BOTH, "dan": BOTH, "ada": BOTH,
}
SIDE_OF_A = {"alice": 200, "amy": 404, "bob": 404, "carol": 200, "erin": 404, "victor": 200, "olivia": 200,
             "henry": 403, "dan": 403, "ada": 200}


@pytest.fixture
def api_as(api_as_en):
    return api_as_en


@pytest.fixture
def buyer_b(world):
    return Contact.objects.create(customer=world.customers.b, name="孙经理", role="purchasing")


def url(contact) -> str:
    return f"/api/contacts/{contact.pk}/"


def test_each_persona_lists_exactly_the_contacts_they_may_see(api_as, boss_a, buyer_b):  # noqa: F811
    seen = {p: sorted(results(api_as(p).get("/api/contacts/"), "name")) for p in VISIBLE}
    assert seen == VISIBLE
    assert api_as("henry").get("/api/contacts/").status_code == 403


def test_it_hides_the_contacts_of_other_peoples_customers_as_not_found(api_as, boss_a):  # noqa: F811
    assert statuses(api_as, EVERYONE, lambda c: [c.get(url(boss_a))]) == {
        "alice": (200,), "amy": (404,), "bob": (404,), "carol": (200,), "erin": (404,), "victor": (200,),
        "olivia": (200,), "henry": (403,), "dan": (200,), "ada": (200,)}
    assert api_as("olivia").get("/api/contacts/999999/").status_code == 404


def test_anonymous_callers_see_no_contact(anon, boss_a):  # noqa: F811
    assert anon.get("/api/contacts/").status_code in (401, 403)


def test_it_shows_a_contact(api_as, world, boss_a):  # noqa: F811
    assert api_as("alice").get(url(boss_a)).json() == {
        "id": boss_a.pk, "external_id": None, "customer": world.customers.a.pk, "customer_name": "甲公司",
        "name": "钱总", "job_title": "", "role": "decision_maker", "phone": "", "email": "", "wechat": "",
        "primary": True, "notes": ""}


def test_it_filters_contacts(api_as, world, boss_a, buyer_b):  # noqa: F811
    client = api_as("dan")
    assert results(client.get("/api/contacts/", {"customer": world.customers.b.pk}), "name") == ["孙经理"]
    assert results(client.get("/api/contacts/", {"role": "purchasing"}), "name") == ["孙经理"]
    assert results(client.get("/api/contacts/", {"primary": "true"}), "name") == ["钱总"]
    for params, field in [({"role": "boss"}, "role"), ({"customer": "a"}, "customer"), ({"primary": "maybe"},
                                                                                         "primary")]:
        refused = client.get("/api/contacts/", params)
        assert refused.status_code == 400 and field in refused.json()


def test_a_rep_adds_a_contact_to_her_customer_and_a_new_primary_replaces_the_old(api_as, world, boss_a, rep_alice):  # noqa: F811
    response = api_as("alice").post("/api/contacts/", {
        "customer": world.customers.a.pk, "name": "吴工", "job_title": "IT 主管", "role": "technical",
        "phone": "13800000000", "email": "wu@example.com", "wechat": "wu-it", "primary": True}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["primary"] is True
    assert (last_audit().event, last_audit().actor) == ("contact.created", rep_alice)
    assert list(Contact.objects.filter(customer=world.customers.a, primary=True).values_list("name", flat=True)) == [
        "吴工"]
    assert api_as("alice").get(url(boss_a)).json()["primary"] is False


def test_each_persona_may_add_contacts_only_to_the_customers_of_their_side(api_as, world):
    def add(client):
        return [client.post("/api/contacts/", {"customer": world.customers.a.pk, "name": "新联系人"}, format="json")]

    got = statuses(api_as, EVERYONE, add)
    assert got == {p: ((201,) if SIDE_OF_A[p] == 200 else (403,) if SIDE_OF_A[p] == 403 else (400,))
                   for p in EVERYONE}  # a customer one may not see does not exist for them: 400 naming it
    refused = api_as("bob").post("/api/contacts/", {"customer": world.customers.a.pk, "name": "x"}, format="json")
    assert list(refused.json()) == ["customer"]
    assert Contact.objects.filter(name="新联系人").count() == 5


def test_each_persona_may_change_and_delete_only_the_contacts_of_their_side(api_as, world, boss_a):  # noqa: F811
    got = statuses(api_as, EVERYONE, lambda c: [c.patch(url(boss_a), {"phone": "021-1"}, format="json")])
    assert got == {p: (code,) for p, code in SIDE_OF_A.items()}
    before = Contact.objects.count()
    refused = statuses(api_as, [p for p, code in SIDE_OF_A.items() if code != 200],
                       lambda c: [c.delete(url(boss_a))])
    assert refused == {p: (code,) for p, code in SIDE_OF_A.items() if code != 200}
    assert Contact.objects.count() == before
    assert api_as("carol").delete(url(boss_a)).status_code == 204
    assert (last_audit().event, last_audit().actor) == ("contact.deleted", world.users["carol"])
    assert not Contact.objects.filter(pk=boss_a.pk).exists()


def test_a_contact_stays_with_its_customer(api_as, world, boss_a):  # noqa: F811
    refused = api_as("olivia").patch(url(boss_a), {"customer": world.customers.b.pk}, format="json")
    assert refused.status_code == 400 and refused.json() == {"customer": ["A contact cannot move to another customer."]}
    assert Contact.objects.get(pk=boss_a.pk).customer == world.customers.a


@pytest.mark.parametrize(("changes", "field"), [
    ({"name": ""}, "name"),
    ({"email": "not-an-address"}, "email"),
    ({"role": "boss"}, "role"),
    ({"customer": 999999}, "customer"),
    ({"external_id": "K-1"}, "external_id"),
])
def test_it_refuses_bad_contacts_naming_the_field_and_saves_nothing(api_as, world, changes, field):
    Contact.objects.create(customer=world.customers.a, name="已有", external_id="K-1")
    before = (Contact.objects.count(), audit_count())
    refused = api_as("alice").post("/api/contacts/", {"customer": world.customers.a.pk, "name": "x", **changes},
                                   format="json")
    assert refused.status_code == 400 and field in refused.json()
    assert (Contact.objects.count(), audit_count()) == before


def test_blank_external_ids_do_not_collide(api_as, world):
    client = api_as("alice")
    for name in ("甲", "乙"):
        response = client.post("/api/contacts/", {"customer": world.customers.a.pk, "name": name, "external_id": ""},
                               format="json")
        assert response.status_code == 201 and response.json()["external_id"] is None
