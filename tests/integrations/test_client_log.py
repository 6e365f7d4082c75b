"""The client's trail: one log line per request to Salesforce (method, path, status, ms, API
usage from ``Sforce-Limit-Info``), and never a token, against sfsim over HTTPS."""

import logging
import re

import pytest

from integrations.models import SalesforceConnection
from integrations.salesforce import errors
from integrations.salesforce.client import SalesforceClient

pytestmark = pytest.mark.django_db

LOGGER = "integrations.salesforce.client"


@pytest.fixture
def conn(connected_portal_a):
    return SalesforceConnection.objects.get(portal=connected_portal_a)


def client_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


def test_a_call_logs_one_line_with_method_path_status_ms_and_usage(conn, caplog, settings):
    caplog.set_level(logging.INFO, logger=LOGGER)
    client = SalesforceClient(conn)
    client.describe("ThankView__c")
    used, total = client.api_usage
    [line] = client_lines(caplog)
    assert re.fullmatch(
        rf"Salesforce GET /services/data/v{re.escape(settings.SALESFORCE_API_VERSION)}/sobjects/ThankView__c/describe -> 200 in \d+ ms, "
        rf"api-usage={used}/{total} \(portal {conn.portal_id}\)",
        line,
    ), line


def test_a_query_logs_its_soql_up_to_where_and_never_the_values(conn, sim, caplog, settings):
    sim.seed("Contact", [{"LastName": "Doe", "Email": "jane.secret@x.org"}])
    caplog.set_level(logging.INFO, logger=LOGGER)
    client = SalesforceClient(conn)
    rows = list(client.query_all("SELECT Id, Email FROM Contact WHERE Email IN ('jane.secret@x.org')"))
    assert len(rows) == 1
    [line] = client_lines(caplog)
    assert re.fullmatch(
        rf"Salesforce GET /services/data/v{re.escape(settings.SALESFORCE_API_VERSION)}/query/\?q=SELECT Id, Email FROM Contact "
        rf"-> 200 in \d+ ms, api-usage=\d+/15000 \(portal {conn.portal_id}\)",
        line,
    ), line
    assert "jane.secret" not in caplog.text


def test_a_refresh_is_logged_and_no_token_ever_appears_in_the_log(conn, sim, caplog):
    old_access, refresh = conn.access_token, conn.refresh_token
    sim.fault("expire_sessions")
    caplog.set_level(logging.DEBUG)  # every logger, every level: no token anywhere
    client = SalesforceClient(conn)
    client.describe("ThankView__c")
    new_access = SalesforceConnection.objects.get(pk=conn.pk).access_token
    assert new_access != old_access

    lines = client_lines(caplog)
    assert len(lines) == 3 and client.api_calls == 2  # the 401, the refresh grant, the retry
    assert "/sobjects/ThankView__c/describe -> 401 in " in lines[0]
    assert "POST /services/oauth2/token (refresh grant) -> ok in " in lines[1]
    assert "/sobjects/ThankView__c/describe -> 200 in " in lines[2]
    for token in (old_access, new_access, refresh):
        assert token not in caplog.text
        assert not any(token in str(r.args) or token in r.getMessage() for r in caplog.records)


def test_a_request_that_gets_no_answer_is_logged_with_its_error(conn, caplog, settings):
    settings.SALESFORCE_RETRY_ATTEMPTS = 1
    conn.instance_url = "https://127.0.0.1:9"
    caplog.set_level(logging.INFO, logger=LOGGER)
    client = SalesforceClient(conn)
    with pytest.raises(errors.Unavailable):
        client.limits()
    [line] = client_lines(caplog)
    assert re.fullmatch(rf"Salesforce GET /services/data/v{re.escape(settings.SALESFORCE_API_VERSION)}/limits/ -> ConnectionError in \d+ ms, api-usage=- \(portal \d+\)", line), line
    assert client.api_calls == 0
