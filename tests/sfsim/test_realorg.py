"""A locked-down customer org (sfsim.realorg): rotating refresh tokens, the approvals cap,
objects and records the user cannot see, converted Leads, a wrong client secret, and an
instance on another host than the login host. Each switch alone, over real HTTPS."""

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from sfsim.realorg import STRICT
from tests.sfsim.conftest import API_VERSION, CALLBACK
from tests.sfsim.test_rest import create, error_of, tv

CLIENT = {"client_id": "sfsim-client-id", "client_secret": "sfsim-client-secret"}


def refresh(http, sim, refresh_token, **over):
    return http.post(f"{sim.url}/services/oauth2/token",
                     data={"grant_type": "refresh_token", "refresh_token": refresh_token, **CLIENT, **over})


def rest_status(http, url, access_token):
    return http.get(f"{url}/services/data/v{API_VERSION}/limits/", headers={"Authorization": f"Bearer {access_token}"}).status_code


# --- refresh-token rotation ----------------------------------------------------------------


def test_rotation_returns_a_new_refresh_token_and_kills_the_one_sent(ctl, http, sim):
    ctl.config(rotate_refresh_tokens=True)
    first = ctl.connect(redirect_uri=CALLBACK)
    resp = refresh(http, sim, first["refresh_token"])
    assert resp.status_code == 200
    second = resp.json()
    assert second["refresh_token"].startswith("5Aep861") and second["refresh_token"] != first["refresh_token"]
    reused = refresh(http, sim, first["refresh_token"])
    assert reused.status_code == 400
    assert reused.json() == {"error": "invalid_grant", "error_description": "expired access/refresh token"}
    third = refresh(http, sim, second["refresh_token"])
    assert third.status_code == 200 and third.json()["refresh_token"] not in (first["refresh_token"], second["refresh_token"])
    # Access tokens already issued keep working; only the refresh token rotates.
    assert rest_status(http, sim.url, first["access_token"]) == 200


def test_without_rotation_the_refresh_token_is_reused(ctl, http, sim):
    first = ctl.connect(redirect_uri=CALLBACK)
    for _ in range(2):
        resp = refresh(http, sim, first["refresh_token"])
        assert resp.status_code == 200 and "refresh_token" not in resp.json()


# --- five approvals per user and app -------------------------------------------------------


def test_sixth_approval_silently_revokes_the_oldest(ctl, http, sim):
    ctl.config(approvals_per_user=5)
    tokens = [ctl.connect(redirect_uri=CALLBACK) for _ in range(6)]
    oldest = refresh(http, sim, tokens[0]["refresh_token"])
    assert oldest.status_code == 400 and oldest.json()["error"] == "invalid_grant"
    assert rest_status(http, sim.url, tokens[0]["access_token"]) == 401
    for tok in tokens[1:]:
        assert refresh(http, sim, tok["refresh_token"]).status_code == 200
        assert rest_status(http, sim.url, tok["access_token"]) == 200


def test_revoked_approval_frees_its_place(ctl, http, sim):
    ctl.config(approvals_per_user=5)
    tokens = [ctl.connect(redirect_uri=CALLBACK) for _ in range(5)]
    assert http.post(f"{sim.url}/services/oauth2/revoke", data={"token": tokens[4]["refresh_token"]}).status_code == 200
    ctl.connect(redirect_uri=CALLBACK)
    assert [refresh(http, sim, t["refresh_token"]).status_code for t in tokens] == [200, 200, 200, 200, 400]


def test_rotation_keeps_the_approval_it_rotates(ctl, http, sim):
    ctl.config(approvals_per_user=2, rotate_refresh_tokens=True)
    first = ctl.connect(redirect_uri=CALLBACK)
    rotated = refresh(http, sim, first["refresh_token"]).json()["refresh_token"]
    ctl.connect(redirect_uri=CALLBACK)
    assert refresh(http, sim, rotated).status_code == 200  # still one of two approvals


def test_no_cap_unless_switched_on(ctl, http, sim):
    tokens = [ctl.connect(redirect_uri=CALLBACK) for _ in range(6)]
    assert refresh(http, sim, tokens[0]["refresh_token"]).status_code == 200


# --- an object the user cannot read --------------------------------------------------------


def test_unreadable_object_is_invalid_type_in_soql_and_404_in_describe(ctl, sf):
    [lid] = ctl.seed("Lead", [{"LastName": "L", "Company": "C", "Email": "l@x.org"}])
    ctl.seed("Contact", [{"LastName": "C", "Email": "c@x.org"}])
    ctl.config(unreadable_objects=["Lead"])
    with pytest.raises(SalesforceMalformedRequest) as e:
        sf.query("SELECT Id FROM Lead WHERE Email IN ('l@x.org')")
    [err] = e.value.content
    assert err["errorCode"] == "INVALID_TYPE"
    assert "sObject type 'Lead' is not supported." in err["message"]
    assert sf.query("SELECT Id FROM Contact")["totalSize"] == 1
    with pytest.raises(SalesforceResourceNotFound):
        sf.Lead.describe()
    assert "Lead" not in {o["name"] for o in sf.describe()["sobjects"]}
    [result] = create(sf, [tv(Lead__c=lid, Event_Name__c="Gala")])
    assert error_of(result) == {"statusCode": "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
                                "message": f"insufficient access rights on cross-reference id: {lid}", "fields": []}


# --- record-level sharing ------------------------------------------------------------------


def test_hidden_record_is_absent_from_queries_and_a_lookup_to_it_fails_per_record(ctl, sf):
    seen, hidden = ctl.seed("Contact", [{"LastName": "Seen", "Email": "a@x.org"}, {"LastName": "Hidden", "Email": "b@x.org"}])
    ctl.hide("Contact", hidden)
    rows = sf.query("SELECT Id FROM Contact WHERE Email IN ('a@x.org', 'b@x.org')")["records"]
    assert [r["Id"] for r in rows] == [seen]
    assert sf.query_all("SELECT Id FROM Contact")["totalSize"] == 1
    with pytest.raises(SalesforceResourceNotFound):
        sf.Contact.get(hidden)
    results = create(sf, [tv(Contact__c=hidden, Event_Name__c="Gala"), tv(Contact__c=seen, Event_Name__c="Gala")])
    assert error_of(results[0]) == {"statusCode": "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
                                    "message": f"insufficient access rights on cross-reference id: {hidden}", "fields": []}
    assert results[1]["success"] is True
    ctl.hide("Contact", hidden, hidden=False)
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 2


# --- converted Leads and deleted lookup targets ----------------------------------------------


def test_lookup_to_a_converted_lead_is_refused_per_record(ctl, sf):
    [cid] = ctl.seed("Contact", [{"LastName": "C"}])
    converted, open_lead = ctl.seed("Lead", [
        {"LastName": "L", "Company": "C", "IsConverted": True, "ConvertedContactId": cid},
        {"LastName": "M", "Company": "C"},
    ])
    ctl.config(refuse_converted_lead_lookups=False)
    assert create(sf, [tv(Lead__c=converted)])[0]["success"] is True  # switch off: allowed
    ctl.config(refuse_converted_lead_lookups=True)  # the default, as Salesforce
    results = create(sf, [tv(Lead__c=converted), tv(Lead__c=open_lead), tv(Contact__c=cid)])
    assert error_of(results[0]) == {"statusCode": "CANNOT_UPDATE_CONVERTED_LEAD", "message": "cannot reference converted lead", "fields": []}
    assert results[1]["success"] is True and results[2]["success"] is True


def test_lookup_to_a_deleted_record_answers_the_configured_code(ctl, sf):
    [gone] = ctl.seed("Contact", [{"LastName": "Gone"}])
    ctl.delete("Contact", gone)
    assert error_of(create(sf, [tv(Contact__c=gone)])[0])["statusCode"] == "INVALID_CROSS_REFERENCE_KEY"
    ctl.config(deleted_lookup_code="ENTITY_IS_DELETED")
    assert error_of(create(sf, [tv(Contact__c=gone)])[0]) == {"statusCode": "ENTITY_IS_DELETED", "message": "entity is deleted", "fields": []}


# --- a wrong client secret -------------------------------------------------------------------


def test_wrong_secret_is_invalid_client_and_the_refresh_token_survives_the_fix(ctl, http, sim):
    tok = ctl.connect(redirect_uri=CALLBACK)
    ctl.config(client_secret="rotated-secret")  # the connected app's secret changed
    resp = refresh(http, sim, tok["refresh_token"])
    assert resp.status_code == 400
    assert resp.json() == {"error": "invalid_client", "error_description": "invalid client credentials"}
    unknown = refresh(http, sim, tok["refresh_token"], client_id="nope")
    assert unknown.json() == {"error": "invalid_client_id", "error_description": "client identifier invalid"}
    fixed = refresh(http, sim, tok["refresh_token"], client_secret="rotated-secret")
    assert fixed.status_code == 200 and fixed.json()["access_token"]


# --- login host and instance host ----------------------------------------------------------


def test_identity_stays_on_the_login_host_while_the_instance_is_elsewhere(ctl, http, sim):
    ctl.config(instance_host="localhost")
    tok = ctl.connect(redirect_uri=CALLBACK)
    instance = f"https://localhost:{sim.port}"
    info = ctl.info()
    assert tok["instance_url"] == instance
    assert tok["id"] == f"{sim.url}/id/{info['org_id']}/{info['user_id']}"
    auth = {"Authorization": f"Bearer {tok['access_token']}"}
    ident = http.get(tok["id"], headers=auth)
    assert ident.status_code == 200 and ident.json()["urls"]["rest"] == f"{instance}/services/data/v{{version}}/"
    assert ident.json()["id"] == tok["id"]
    assert http.get(f"{instance}/id/{info['org_id']}/{info['user_id']}", headers=auth).status_code == 403
    assert rest_status(http, instance, tok["access_token"]) == 200
    assert rest_status(http, sim.url, tok["access_token"]) == 401
    sf = Salesforce(instance_url=tok["instance_url"], session_id=tok["access_token"], version=API_VERSION, session=http)
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 0


def test_strict_switches_are_all_accepted_together(ctl):
    config = ctl.config(**STRICT)
    assert {k: config[k] for k in STRICT} == STRICT


def test_reject_record_fault_fails_only_the_matching_record(ctl, sf):
    ctl.fault("reject_record", count=1, field="Event_Name__c", value="Gala",
              code="FIELD_INTEGRITY_EXCEPTION", message="Value does not exist or does not match filter criteria.",
              fields=["Contact__c"])
    results = create(sf, [tv(Event_Name__c="Gala"), tv(Event_Name__c="Other"), tv(Event_Name__c="Gala")])
    assert error_of(results[0]) == {"statusCode": "FIELD_INTEGRITY_EXCEPTION",
                                    "message": "Value does not exist or does not match filter criteria.",
                                    "fields": ["Contact__c"]}
    assert results[1]["success"] is True and results[2]["success"] is True  # count=1 is spent
