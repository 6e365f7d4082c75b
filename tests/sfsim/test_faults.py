"""Injected faults: the exact status and body of each, and simple-salesforce's exception class."""

import time

import pytest
import requests
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)

from tests.sfsim.test_rest import create, error_of, tv

CLIENT = {"client_id": "sfsim-client-id", "client_secret": "sfsim-client-secret"}


def refresh(http, sim, refresh_token):
    return http.post(f"{sim.url}/services/oauth2/token", data={"grant_type": "refresh_token", "refresh_token": refresh_token, **CLIENT})


def test_expire_sessions_gives_401_invalid_session_and_refresh_recovers(ctl, sf, http, sim, token):
    ctl.fault("expire_sessions")
    with pytest.raises(SalesforceExpiredSession) as exc:
        sf.query("SELECT Id FROM Contact")
    assert exc.value.status == 401
    assert exc.value.content == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    new = refresh(http, sim, token["refresh_token"]).json()
    sf.session_id = new["access_token"]
    sf.headers["Authorization"] = "Bearer " + new["access_token"]
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 0


def test_revoked_refresh_tokens_answer_invalid_grant(ctl, sf, http, sim, token):
    ctl.fault("revoke_refresh_tokens")
    resp = refresh(http, sim, token["refresh_token"])
    assert resp.status_code == 400
    assert resp.json() == {"error": "invalid_grant", "error_description": "expired access/refresh token"}
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Contact")


def test_inactive_user_cannot_refresh(ctl, http, sim, token):
    ctl.fault("inactive_user")
    resp = refresh(http, sim, token["refresh_token"])
    assert resp.status_code == 400 and resp.json() == {"error": "invalid_grant", "error_description": "inactive user"}
    ctl.clear_faults()
    assert refresh(http, sim, token["refresh_token"]).status_code == 200


def test_api_disabled_is_403(ctl, sf):
    ctl.fault("api_disabled")
    with pytest.raises(SalesforceRefusedRequest) as exc:
        sf.query("SELECT Id FROM Contact")
    assert exc.value.status == 403
    assert exc.value.content == [{"message": "The REST API is not enabled for this Organization.", "errorCode": "API_DISABLED_FOR_ORG"}]


def test_request_limit_is_403_for_count_calls_then_clears(ctl, sf):
    ctl.fault("request_limit", count=1)
    with pytest.raises(SalesforceRefusedRequest) as exc:
        sf.query("SELECT Id FROM Contact")
    assert exc.value.content == [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 0


def test_daily_limit_reached_refuses_calls_without_counting_them(ctl, sf):
    ctl.limits(used=999, max=1000)
    sf.query("SELECT COUNT() FROM Contact")
    assert tuple(sf.api_usage["api-usage"]) == (1000, 1000)
    with pytest.raises(SalesforceRefusedRequest) as exc:
        sf.query("SELECT COUNT() FROM Contact")
    assert exc.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    assert ctl.limits()["used"] == 1000


def test_unavailable_is_503_general_error(ctl, sf):
    ctl.fault("unavailable", count=2)
    for _ in range(2):
        with pytest.raises(SalesforceGeneralError) as exc:
            sf.query("SELECT Id FROM Contact")
        assert exc.value.status == 503 and exc.value.content[0]["errorCode"] == "SERVER_UNAVAILABLE"
    sf.query("SELECT Id FROM Contact")


def test_no_access_makes_thankview_read_only(ctl, sf):
    ctl.fault("no_access")
    d = sf.ThankView__c.describe()
    assert d["createable"] is False and d["updateable"] is False
    [result] = create(sf, [tv(Event_Name__c="x")])
    assert error_of(result) == {"statusCode": "INSUFFICIENT_ACCESS_OR_READONLY", "message": "insufficient access rights on object id", "fields": []}
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.ThankView__c.create({"Event_Name__c": "x"})
    assert exc.value.content[0]["errorCode"] == "INSUFFICIENT_ACCESS_OR_READONLY"
    assert sf.Contact.create({"LastName": "still fine"})["success"] is True


def test_unlock_row_fails_each_record_of_the_next_call(ctl, sf):
    ctl.fault("unlock_row", count=1)
    results = create(sf, [tv(Event_Name__c="a"), tv(Event_Name__c="b")])
    assert [error_of(r)["statusCode"] for r in results] == ["UNABLE_TO_LOCK_ROW", "UNABLE_TO_LOCK_ROW"]
    assert all(r["success"] for r in create(sf, [tv(Event_Name__c="a")]))


def test_drop_after_commit_commits_then_closes_the_connection(ctl, sf):
    ctl.fault("drop_after_commit", count=1)
    with pytest.raises(requests.ConnectionError):
        create(sf, [tv(Event_Name__c="lost answer")])
    assert [r["Event_Name__c"] for r in ctl.records("ThankView__c")] == ["lost answer"]
    assert create(sf, [tv(Event_Name__c="next")])[0]["success"] is True


def test_latency_and_path_filter(ctl, sf):
    ctl.fault("latency", ms=150, path="/limits")
    started = time.monotonic()
    sf.query("SELECT COUNT() FROM Contact")
    assert time.monotonic() - started < 0.15
    started = time.monotonic()
    sf.limits()
    assert time.monotonic() - started >= 0.15


def test_stats_count_calls_by_kind(ctl, sf):
    ctl.reset_stats()
    sf.query("SELECT Id FROM Contact")
    sf.ThankView__c.describe()
    create(sf, [tv(Event_Name__c="a")])
    stats = ctl.stats()
    assert stats["api_calls"] == 3
    assert stats["by_kind"] == {"query": 1, "describe": 1, "collections_create": 1}
    assert [(e["method"], e["status"]) for e in stats["log"]] == [("GET", 200), ("GET", 200), ("POST", 200)]
