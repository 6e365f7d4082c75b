"""The locked-down customer org's permission and schema switches (sfsim/lockdown.py): exact
status, body and describe flags, through real clients over HTTPS."""

import pytest
from simple_salesforce.exceptions import SalesforceRefusedRequest

from sfsim.lockdown import HIDDEN_CONTACT, STRICT_ORG
from sfsim.server import start
from tests.sfsim.test_rest import create, error_of, tv

LIMIT_INFO = "Sforce-Limit-Info"


def field(describe, name):
    return next(f for f in describe["fields"] if f["name"] == name)


# --- /limits without View Setup, Sforce-Limit-Info on every answer ----------------------


def test_limits_refused_without_view_setup_with_the_usage_header(ctl, sf, http, token):
    ctl.config(view_setup=False)
    ctl.limits(used=41, max=5000)
    with pytest.raises(SalesforceRefusedRequest) as exc:
        sf.limits()
    assert exc.value.status == 403
    assert exc.value.content == [{
        "message": "The Limits resource is not available to this user: it needs the View Setup and Configuration permission.",
        "errorCode": "API_DISABLED_FOR_ORG",
    }]
    # The refusal counts, and still tells the usage, as every REST answer does.
    resp = http.get(f"{token['instance_url']}/services/data/v59.0/limits/",
                    headers={"Authorization": f"Bearer {token['access_token']}"})
    assert resp.status_code == 403
    assert resp.headers[LIMIT_INFO] == "api-usage=43/5000"
    # Everything else still works for that user.
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 0


@pytest.mark.parametrize("method,path,status", [
    ("GET", "/services/data/v59.0/sobjects/ThankView__c/describe", 200),
    ("GET", "/services/data/v59.0/query?q=SELECT+Id+FROM+Nope__c", 400),
    ("GET", "/services/data/v59.0/sobjects/Nope__c/describe", 404),
    ("POST", "/services/data/v59.0/composite/sobjects", 400),
    ("GET", "/services/data/v59.0/jobs/ingest/750000000000000AAA", 404),
])
def test_sforce_limit_info_on_every_rest_answer(ctl, http, token, method, path, status):
    ctl.limits(used=100, max=15000)
    resp = http.request(method, token["instance_url"] + path, json={} if method == "POST" else None,
                        headers={"Authorization": f"Bearer {token['access_token']}"})
    assert resp.status_code == status
    assert resp.headers[LIMIT_INFO] == "api-usage=101/15000"


def test_sforce_limit_info_on_a_401(ctl, http, token):
    ctl.limits(used=7, max=15000)
    resp = http.get(f"{token['instance_url']}/services/data/v59.0/sobjects/", headers={"Authorization": "Bearer nope"})
    assert resp.status_code == 401
    assert resp.headers[LIMIT_INFO] == "api-usage=8/15000"


# --- "" is null -----------------------------------------------------------------------------


def test_empty_string_for_a_required_field_is_required_field_missing(ctl, sf):
    ctl.require_field("ThankView__c", "Event_Name__c")
    [blank, ok] = create(sf, [tv(Event_Name__c=""), tv(Event_Name__c="Spring")])
    assert error_of(blank) == {"statusCode": "REQUIRED_FIELD_MISSING",
                               "message": "Required fields are missing: [Event_Name__c]", "fields": ["Event_Name__c"]}
    assert ok["success"] is True
    assert [r["Event_Name__c"] for r in ctl.records("ThankView__c")] == ["Spring"]


def test_empty_string_for_an_optional_text_field_is_stored_as_null(ctl, sf):
    [res] = create(sf, [tv(Text_Reply__c="", Url__c="")])
    rec = ctl.get("ThankView__c", res["id"])
    assert (rec["Text_Reply__c"], rec["Url__c"]) == (None, None)


def test_blank_is_null_can_be_switched_off(ctl, sf):
    ctl.config(blank_is_null=False)
    ctl.require_field("ThankView__c", "Event_Name__c")
    [res] = create(sf, [tv(Event_Name__c="")])
    assert res["success"] is True
    assert ctl.get("ThankView__c", res["id"])["Event_Name__c"] == ""


# --- values longer than the field ----------------------------------------------------------


def test_value_longer_than_its_field_is_string_too_long(ctl, sf):
    url = "https://videos.example.org/" + "v" * 229  # 256 characters; a URL field holds 255
    [long, fits] = create(sf, [tv(Video_Url__c=url), tv(Video_Url__c=url[:255])])
    assert error_of(long) == {
        "statusCode": "STRING_TOO_LONG", "message": f"Video Url: data value too large: {url} (max length=255)",
        "fields": ["Video_Url__c"],
    }
    assert fits["success"] is True
    assert len(ctl.records("ThankView__c")) == 1


# --- field-level security -------------------------------------------------------------------


def test_read_only_field_in_describe_and_refused_on_write(ctl, sf):
    ctl.config(read_only_fields=["ThankView__c.Views__c"])
    views = field(sf.ThankView__c.describe(), "Views__c")
    assert (views["createable"], views["updateable"]) == (False, False)
    [with_views, without] = create(sf, [tv(Views__c=3, Opened__c=True), tv(Opened__c=True)])
    assert error_of(with_views) == {
        "statusCode": "INVALID_FIELD_FOR_INSERT_UPDATE",
        "message": "Unable to create/update fields: Views__c. Please check the security settings of this field "
                   "and verify that it is read/write for your profile or permission set.",
        "fields": ["Views__c"],
    }
    assert without["success"] is True
    upd = sf.restful("composite/sobjects", method="PATCH",
                     json={"allOrNone": False, "records": [tv(id=without["id"], Views__c=1)]})
    assert error_of(upd[0])["statusCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert ctl.get("ThankView__c", without["id"])["Views__c"] is None


def test_field_access_control_makes_one_field_read_only(ctl, sf):
    ctl.field_access("ThankView__c", "Portal_Id__c", createable=False, updateable=False)
    f = field(sf.ThankView__c.describe(), "Portal_Id__c")
    assert (f["createable"], f["updateable"]) == (False, False)
    [res] = create(sf, [tv(Portal_Id__c="7")])
    assert error_of(res)["fields"] == ["Portal_Id__c"]


# --- Text Name ------------------------------------------------------------------------------


def test_text_name_field_describe_flags(ctl, sf):
    ctl.config(text_name_objects=["ThankView__c"])
    name = field(sf.ThankView__c.describe(), "Name")
    assert {k: name[k] for k in ("type", "length", "nameField", "autoNumber", "createable", "updateable",
                                  "nillable", "defaultedOnCreate", "label")} == {
        "type": "string", "length": 80, "nameField": True, "autoNumber": False, "createable": True,
        "updateable": True, "nillable": False, "defaultedOnCreate": False, "label": "ThankView Name",
    }


def test_text_name_is_written_and_left_empty_takes_the_id(ctl, sf):
    ctl.config(text_name_objects=["ThankView__c"])
    [named, unnamed, too_long] = create(sf, [tv(Name="Spring – Jane Doe"), tv(), tv(Name="x" * 81)])
    assert ctl.get("ThankView__c", named["id"])["Name"] == "Spring – Jane Doe"
    assert ctl.get("ThankView__c", unnamed["id"])["Name"] == unnamed["id"]
    assert error_of(too_long)["statusCode"] == "STRING_TOO_LONG"


def test_default_name_is_an_auto_number_refused_on_write(ctl, sf):
    name = field(sf.ThankView__c.describe(), "Name")
    assert (name["autoNumber"], name["createable"], name["defaultedOnCreate"]) == (True, False, True)
    [res] = create(sf, [tv(Name="mine")])
    assert error_of(res)["statusCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"


# --- the strict org together ---------------------------------------------------------------


def test_strict_org_control_turns_every_switch_on(ctl, sf):
    config = ctl.strict_org()
    assert {k: config[k] for k in STRICT_ORG} == STRICT_ORG
    assert config["rotate_refresh_tokens"] is True and config["approvals_per_user"] == 5
    describe = sf.ThankView__c.describe()
    assert field(describe, "Views__c")["updateable"] is False
    assert field(describe, "Name")["autoNumber"] is False
    with pytest.raises(SalesforceRefusedRequest):
        sf.limits()
    # One Contact is kept from the user by private sharing: absent from queries.
    [hidden] = [r for r in ctl.records("Contact") if r["Email"] == HIDDEN_CONTACT["Email"]]
    assert sf.query(f"SELECT Id FROM Contact WHERE Email = '{HIDDEN_CONTACT['Email']}'")["totalSize"] == 0
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 0
    [res] = create(sf, [tv(Contact__c=hidden["Id"], Name="x")])
    assert error_of(res)["statusCode"] == "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY"


def test_a_server_started_strict_stays_strict_after_reset():
    handle = start(port=0, **STRICT_ORG)
    try:
        ctl = handle.control()
        ctl.reset()
        org = handle.org
        assert org.config["view_setup"] is False
        assert org.sobject("ThankView__c").field("Views__c").createable is False
        assert org.sobject("ThankView__c").field("Name").auto_number is False
        assert len(org.hidden) == 1 and org.config["rotate_refresh_tokens"] is True
    finally:
        handle.stop()
