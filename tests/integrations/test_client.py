"""The Salesforce client against sfsim: refresh-once, classification, retries, accounting."""

import pytest

from integrations.models import SalesforceConnection
from integrations.salesforce import errors
from integrations.salesforce.client import RecordResult, SalesforceClient
from tests.integrations.conftest import STRICT_ORG

pytestmark = pytest.mark.django_db


@pytest.fixture
def conn(connected_portal_a):
    return SalesforceConnection.objects.get(portal=connected_portal_a)


def rest_calls(sim):
    return sim.stats()["api_calls"]


def test_describe_and_identity(conn):
    client = SalesforceClient(conn)
    d = client.describe("ThankView__c")
    assert d["name"] == "ThankView__c"
    assert {"Event_Name__c", "Contact__c", "Views__c"} <= {f["name"] for f in d["fields"]}
    ident = client.identity()
    assert ident["organization_id"] == conn.org_id and ident["username"] == conn.username
    with pytest.raises(errors.NotFound) as e:
        client.describe("Nope__c")
    assert e.value.code == "NOT_FOUND" and e.value.status == 404


def test_expired_access_token_is_refreshed_once_and_stored_encrypted(conn, sim):
    old_enc, old_token = conn.access_token_enc, conn.access_token
    sim.fault("expire_sessions")
    client = SalesforceClient(conn)
    assert client.describe("ThankView__c")["name"] == "ThankView__c"
    stored = SalesforceConnection.objects.get(pk=conn.pk)
    assert stored.access_token_enc != old_enc
    assert stored.access_token != old_token and old_token not in stored.access_token_enc
    assert stored.refresh_token == conn.refresh_token  # refresh responses carry no new one
    assert client.api_calls == 2  # the 401 and the retry


def test_revoked_refresh_token_raises_session_expired_without_retry_storm(conn, sim):
    sim.fault("revoke_refresh_tokens")
    client = SalesforceClient(conn)
    before = rest_calls(sim)
    with pytest.raises(errors.SessionExpired) as e:
        client.describe("ThankView__c")
    assert e.value.code == "invalid_grant" and e.value.kind == "session_expired" and e.value.permanent
    assert client.api_calls == 1  # one 401, one refresh attempt, no retries
    assert rest_calls(sim) - before <= 1


@pytest.mark.parametrize(
    "fault,cls,code,kind",
    [
        ("api_disabled", errors.PermissionDenied, "API_DISABLED_FOR_ORG", "permissions"),
        ("request_limit", errors.RateLimited, "REQUEST_LIMIT_EXCEEDED", ""),
    ],
)
def test_permanent_faults_are_classified_and_not_retried(conn, sim, fault, cls, code, kind):
    sim.fault(fault)
    client = SalesforceClient(conn)
    with pytest.raises(cls) as e:
        client.describe("ThankView__c")
    assert e.value.code == code and e.value.status == 403 and e.value.kind == kind
    assert client.api_calls == 1


def test_503_is_retried_with_backoff_then_raised_as_unavailable(conn, sim, settings):
    sim.reset_stats()
    sim.fault("unavailable")
    client = SalesforceClient(conn)
    with pytest.raises(errors.Unavailable) as e:
        client.describe("ThankView__c")
    assert e.value.status == 503 and e.value.kind == "connection" and not e.value.permanent
    assert client.api_calls == settings.SALESFORCE_RETRY_ATTEMPTS
    assert sim.stats()["by_kind"]["describe"] == settings.SALESFORCE_RETRY_ATTEMPTS


def test_transient_503_recovers_on_retry(conn, sim):
    sim.fault("unavailable", count=1)
    client = SalesforceClient(conn)
    assert client.describe("ThankView__c")["name"] == "ThankView__c"
    assert client.api_calls == 2


def test_unreachable_host_is_unavailable(conn):
    conn.instance_url = "https://127.0.0.1:9"
    client = SalesforceClient(conn)
    with pytest.raises(errors.Unavailable) as e:
        client.limits()
    assert e.value.code == "CONNECTION_ERROR"


def test_api_usage_is_parsed_and_persisted(conn):
    client = SalesforceClient(conn)
    if STRICT_ORG:
        # The strict org's user lacks View Setup: /limits is refused (budget.limits_or_none
        # reads that as "unknown"), and the refusal still carries the usage header.
        with pytest.raises(errors.PermissionDenied):
            client.limits()
    else:
        assert client.limits()["DailyApiRequests"]["Max"] == 15000
    used, total = client.api_usage
    assert total == 15000 and used >= 1
    stored = SalesforceConnection.objects.get(pk=conn.pk)
    assert (stored.api_usage_used, stored.api_usage_max) == (used, total)


def test_query_all_follows_next_records_url(conn, sim):
    sim.seed("Contact", [{"LastName": f"Doe{i}", "Email": f"d{i}@x.org"} for i in range(450)])
    sim.config(query_batch_size=200)
    client = SalesforceClient(conn)
    rows = list(client.query_all("SELECT Id, Email FROM Contact WHERE LastName != null"))
    assert len(rows) == 450 and len({r["Id"] for r in rows}) == 450
    assert client.api_calls == 3  # pages of 200, 200 and 50


def test_collections_create_update_upsert_with_per_record_results(conn, sim):
    sim.add_field("ThankView__c", "Send_Id__c", "string", external_id=True, unique=True)
    contact_id = sim.seed("Contact", [{"LastName": "Doe", "Email": "jane@x.org"}])[0]
    client = SalesforceClient(conn)
    created = client.collection_create(
        [
            {"Contact__c": contact_id, "Event_Name__c": "Gala", "Opened__c": True},
            {"Contact__c": "003000000000001", "Event_Name__c": "Bad id"},  # malformed/foreign
            {"Nope__c": 1, "Event_Name__c": "Unknown field"},
        ]
    )
    assert [r.ok for r in created] == [True, False, False]
    assert created[0].id and len(created[0].id) == 18
    assert isinstance(created[1].exception(), errors.InvalidId)
    assert isinstance(created[2].exception(), errors.MappingError)
    assert created[2].errors[0][0] == "INVALID_FIELD"

    updated = client.collection_update([{"id": created[0].id, "Clicked__c": True}])
    # An update's result carries no "created" (only upserts say whether they created).
    assert updated == [RecordResult(ok=True, id=created[0].id, created=None, errors=[])]
    assert sim.get("ThankView__c", created[0].id)["Clicked__c"] is True
    upserted = client.collection_upsert("ThankView__c", "Send_Id__c", [{"Send_Id__c": "s-1", "Event_Name__c": "X"}])
    assert upserted[0].ok and upserted[0].created is True
    again = client.collection_upsert("ThankView__c", "Send_Id__c", [{"Send_Id__c": "s-1", "Event_Name__c": "Y"}])
    assert again[0].ok and again[0].created is False and again[0].id == upserted[0].id


def test_required_field_missing_is_a_mapping_error_with_the_field(conn, sim):
    sim.add_field("ThankView__c", "Donor_ID__c", "string", required=True)
    client = SalesforceClient(conn)
    [res] = client.collection_create([{"Event_Name__c": "Gala"}])
    assert not res.ok
    code, _message, fields = res.errors[0]
    assert code == "REQUIRED_FIELD_MISSING" and "Donor_ID__c" in fields
    assert isinstance(res.exception(), errors.MappingError)


def test_per_record_row_lock_is_a_result_not_an_exception(conn, sim):
    sim.fault("unlock_row", count=1)
    client = SalesforceClient(conn)
    [res] = client.collection_create([{"Event_Name__c": "Gala"}])
    # The sync decides what to do with a locked record (retry it next run).
    assert not res.ok and res.error_codes == ["UNABLE_TO_LOCK_ROW"]
    assert isinstance(res.exception(), errors.Unavailable) and not res.exception().permanent


def test_create_with_unknown_outcome_is_not_retried(conn, sim):
    """The answer to a create is lost after Salesforce committed it: retrying could create
    a duplicate, so the client raises Unavailable(outcome_unknown) and the sync looks first."""
    sim.fault("drop_after_commit", count=1)
    client = SalesforceClient(conn)
    with pytest.raises(errors.Unavailable) as e:
        client.collection_create([{"Event_Name__c": "Once"}])
    assert e.value.outcome_unknown
    assert [r["Event_Name__c"] for r in sim.records("ThankView__c")] == ["Once"]


def test_update_with_lost_answer_is_retried(conn, sim):
    [rec_id] = sim.seed("ThankView__c", [{"Event_Name__c": "Gala"}])
    sim.fault("drop_after_commit", count=1)
    client = SalesforceClient(conn)
    [res] = client.collection_update([{"id": rec_id, "Opened__c": True}])
    assert res.ok and sim.get("ThankView__c", rec_id)["Opened__c"] is True
    assert client.api_calls == 1  # the dropped call gave no response; the retry did


def test_collections_refuse_more_than_200(conn):
    with pytest.raises(ValueError):
        SalesforceClient(conn).collection_create([{}] * 201)


def test_revoke_kills_the_refresh_token(conn):
    client = SalesforceClient(conn)
    client.revoke()
    with pytest.raises(errors.SessionExpired):
        SalesforceClient(SalesforceConnection.objects.get(pk=conn.pk)).refresh()


def test_token_refreshed_by_another_worker_is_adopted_without_a_new_grant(conn, sim):
    sim.fault("expire_sessions")
    other = SalesforceClient(SalesforceConnection.objects.get(pk=conn.pk))
    other.refresh()  # worker 1 refreshes
    sim.reset_stats()
    mine = SalesforceClient(conn)  # worker 2 still holds the old token
    assert mine.describe("ThankView__c")["name"] == "ThankView__c"
    assert sim.stats()["by_kind"].get("oauth_token", 0) == 0  # no second refresh grant
    assert conn.access_token == SalesforceConnection.objects.get(pk=conn.pk).access_token
