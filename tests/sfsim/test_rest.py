"""REST API through simple-salesforce in direct mode, exactly as the product uses it (§2, §3, §5)."""

import pytest
from simple_salesforce.exceptions import (
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceResourceNotFound,
)

from sfsim import ids


def tv(**fields):
    return {"attributes": {"type": "ThankView__c"}, **fields}


def create(sf, records, all_or_none=False):
    return sf.restful("composite/sobjects", method="POST", json={"allOrNone": all_or_none, "records": records})


def error_of(result):
    assert result["success"] is False
    [err] = result["errors"]
    return err


# --- query -------------------------------------------------------------------------------


def test_query_pages_through_next_records_url(ctl, sf):
    ctl.config(query_batch_size=3)
    ctl.seed("Contact", [{"LastName": f"L{i}", "Email": f"p{i}@x.org"} for i in range(7)])
    first = sf.query("SELECT Id, Email FROM Contact ORDER BY LastName")
    assert first["totalSize"] == 7 and first["done"] is False and len(first["records"]) == 3
    locator, offset = first["nextRecordsUrl"].rsplit("/", 1)[1].rsplit("-", 1)
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g") and offset == "3"
    assert len(locator) == 18
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert [r["Email"] for r in second["records"]] == ["p3@x.org", "p4@x.org", "p5@x.org"]
    everything = sf.query_all("SELECT Id, Email FROM Contact ORDER BY LastName")
    assert [r["Email"] for r in everything["records"]] == [f"p{i}@x.org" for i in range(7)]
    rec = everything["records"][0]
    assert rec["attributes"] == {"type": "Contact", "url": f"/services/data/v59.0/sobjects/Contact/{rec['Id']}"}


def test_email_match_is_case_insensitive_and_returns_stored_case(ctl, sf):
    ctl.seed("Contact", [{"LastName": "Doe", "Email": "Jane.Doe@Example.ORG"}, {"LastName": "Roe", "Email": "rick@x.org"}])
    ctl.seed("Lead", [{"LastName": "Lee", "Company": "Co", "Email": "jane.doe@example.org"}])
    found = sf.query("SELECT Id, Email FROM Contact WHERE Email IN ('jane.doe@example.org', 'NOBODY@x.org')")
    assert [r["Email"] for r in found["records"]] == ["Jane.Doe@Example.ORG"]
    assert sf.query("SELECT Id FROM Contact WHERE Email = 'RICK@X.ORG'")["totalSize"] == 1
    leads = sf.query("SELECT Id FROM Lead WHERE Email IN ('JANE.DOE@EXAMPLE.ORG') AND IsConverted = false")
    assert leads["totalSize"] == 1
    assert sf.query("SELECT Id FROM Contact WHERE Email LIKE 'jane%'")["totalSize"] == 1


def test_ids_match_in_15_and_18_characters_case_sensitively(ctl, sf):
    [cid] = ctl.seed("Contact", [{"LastName": "Doe"}])
    for literal in (cid, cid[:15]):
        assert sf.query(f"SELECT Id FROM Contact WHERE Id IN ('{literal}')")["records"][0]["Id"] == cid
    assert sf.query(f"SELECT Id FROM Contact WHERE Id = '{cid.lower()}'")["totalSize"] == 0
    [tid] = ctl.seed("ThankView__c", [{"Contact__c": cid}])
    assert sf.query(f"SELECT Id FROM ThankView__c WHERE Contact__c = '{cid[:15]}'")["records"][0]["Id"] == tid


def test_query_excludes_deleted_and_query_all_includes_them(ctl, sf):
    a, b = ctl.seed("Contact", [{"LastName": "A"}, {"LastName": "B"}])
    ctl.delete("Contact", b)
    assert [r["Id"] for r in sf.query("SELECT Id FROM Contact")["records"]] == [a]
    rows = sf.query_all("SELECT Id, IsDeleted FROM Contact", include_deleted=True)["records"]
    assert {(r["Id"], r["IsDeleted"]) for r in rows} == {(a, False), (b, True)}


def test_count_query_returns_only_total_size(ctl, sf):
    ctl.seed("Contact", [{"LastName": "A"}, {"LastName": "B"}])
    assert sf.query("SELECT COUNT() FROM Contact") == {"totalSize": 2, "done": True, "records": []}


def test_datetime_literal_and_or_parentheses(ctl, sf):
    [cid] = ctl.seed("Contact", [{"LastName": "A"}])
    ctl.seed("ThankView__c", [
        {"Contact__c": cid, "Event_Name__c": "Gala", "Sent_Date__c": "2024-05-01T10:00:00.000+0000"},
        {"Contact__c": cid, "Event_Name__c": "Gala", "Sent_Date__c": "2024-05-02T10:00:00.000+0000"},
    ])
    q = (f"SELECT Id, Sent_Date__c FROM ThankView__c WHERE Contact__c = '{cid}' AND (Event_Name__c = 'gala' "
         "OR Event_Name__c = 'x') AND Sent_Date__c = 2024-05-01T12:00:00+02:00")
    [row] = sf.query(q)["records"]
    assert row["Sent_Date__c"] == "2024-05-01T10:00:00.000+0000"


@pytest.mark.parametrize("soql, code, message", [
    ("SELECT Bacon__c FROM Account LIMIT 2", "INVALID_FIELD", (
        "\nSELECT Bacon__c FROM Account LIMIT 2\n       ^\nERROR at Row:1:Column:8\nNo such column 'Bacon__c' on entity "
        "'Account'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. "
        "Please reference your WSDL or the describe call for the appropriate names.")),
    ("SELECT Id FROM Accountz LIMIT 2", "INVALID_TYPE", (
        "\nSELECT Id FROM Accountz LIMIT 2\n               ^\nERROR at Row:1:Column:16\nsObject type 'Accountz' is not "
        "supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. "
        "Please reference your WSDL or the describe call for the appropriate names.")),
    ("SELECT Id FORM Contact", "MALFORMED_QUERY", "\nSELECT Id FORM Contact\n          ^\nERROR at Row:1:Column:11\nunexpected token: FORM"),
    ("SELECT Id FROM Contact WHERE Id = '1004422'", "INVALID_QUERY_FILTER_OPERATOR", None),
    ("SELECT Id FROM ThankView__c WHERE Sent_Date__c = '2024-01-01T00:00:00Z'", "INVALID_FIELD", None),
])
def test_soql_errors_have_salesforce_codes_and_messages(ctl, sf, soql, code, message):
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query(soql)
    assert exc.value.status == 400
    [err] = exc.value.content
    assert err["errorCode"] == code
    if message:
        assert err["message"] == message


def test_uri_too_long_is_414_and_uri_plus_headers_431(ctl, sf, http, sim, token):
    long_query = "SELECT Id FROM Contact WHERE Email IN (" + ",".join(f"'p{i}@example.org'" for i in range(1100)) + ")"
    with pytest.raises(SalesforceGeneralError) as exc:
        sf.query(long_query)
    assert exc.value.status == 414
    headers = {"Authorization": f"Bearer {token['access_token']}", "X-Padding": "x" * 9000}
    resp = http.get(f"{sim.url}/services/data/v59.0/query/", params={"q": "SELECT Id FROM Contact WHERE Email = '" + "y" * 8000 + "'"}, headers=headers)
    assert resp.status_code == 431


# --- describe ------------------------------------------------------------------------------


def test_describe_thankview_has_the_guide_fields_with_reference_types(ctl, sf):
    d = sf.ThankView__c.describe()
    assert (d["name"], d["keyPrefix"], d["custom"], d["createable"], d["updateable"]) == ("ThankView__c", "a0X", True, True, True)
    fields = {f["name"]: f for f in d["fields"]}
    expected = {
        "Contact__c": "reference", "Lead__c": "reference", "Event_Name__c": "string", "Sent_Date__c": "datetime",
        "Opened__c": "boolean", "Clicked__c": "boolean", "Started_Watching__c": "boolean", "Finished_Watching__c": "boolean",
        "CTA_Clicked__c": "boolean", "Downloaded__c": "boolean", "Shared__c": "boolean", "Bounced__c": "boolean",
        "Unsubscribed__c": "boolean", "Views__c": "double", "Url__c": "url", "Video_Url__c": "url",
        "Text_Reply__c": "string", "Video_Reply__c": "url", "Portal_Id__c": "string", "Portal_Name__c": "string",
    }
    assert {name: fields[name]["type"] for name in expected} == expected
    assert fields["Contact__c"]["referenceTo"] == ["Contact"] and fields["Contact__c"]["relationshipName"] == "Contact__r"
    assert fields["Lead__c"]["referenceTo"] == ["Lead"]
    assert (fields["Views__c"]["precision"], fields["Views__c"]["scale"]) == (18, 0)
    assert fields["Opened__c"]["nillable"] is False and fields["Opened__c"]["defaultValue"] is False
    assert fields["Text_Reply__c"]["length"] == 255 and fields["Url__c"]["length"] == 255
    assert fields["Name"]["autoNumber"] is True and "Send_Id__c" not in fields
    listed = ["name", "label", "type", "soapType", "length", "byteLength", "precision", "scale", "digits", "nillable",
              "createable", "updateable", "defaultedOnCreate", "defaultValue", "calculated", "custom", "externalId",
              "unique", "caseSensitive", "idLookup", "nameField", "filterable", "sortable", "groupable", "autoNumber",
              "referenceTo", "relationshipName", "picklistValues", "restrictedPicklist", "htmlFormatted", "cascadeDelete",
              "dependentPicklist", "deprecatedAndHidden", "permissionable"]
    assert all(key in fields["Event_Name__c"] for key in listed)

    ctl.add_field("ThankView__c", "Send_Id__c", "string", external_id=True, unique=True)
    send_id = next(f for f in sf.ThankView__c.describe()["fields"] if f["name"] == "Send_Id__c")
    assert (send_id["externalId"], send_id["idLookup"], send_id["unique"]) == (True, True, True)


def test_describe_unknown_object_is_404_not_found(ctl, sf):
    with pytest.raises(SalesforceResourceNotFound) as exc:
        sf.Nope__c.describe()
    assert exc.value.content == [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]


# --- single records --------------------------------------------------------------------------


def test_single_record_create_read_update_delete(ctl, sf):
    created = sf.Contact.create({"LastName": "Doe", "Email": "j@x.org"})
    assert created == {"id": created["id"], "success": True, "errors": []}
    rec = sf.Contact.get(created["id"])
    assert rec["Email"] == "j@x.org" and rec["Name"] == "Doe" and rec["LastModifiedDate"].endswith("+0000")
    assert sf.Contact.update(created["id"], {"FirstName": "Jane"}) == 204
    assert sf.Contact.get(created["id"][:15])["Name"] == "Jane Doe"
    assert sf.Contact.delete(created["id"]) == 204
    with pytest.raises(SalesforceResourceNotFound) as exc:
        sf.Contact.get(created["id"])
    assert exc.value.content[0]["errorCode"] == "ENTITY_IS_DELETED"
    with pytest.raises(SalesforceResourceNotFound) as exc:
        sf.Contact.get("1004422")
    assert exc.value.content[0]["message"] == "Provided external ID field does not exist or is not accessible: 1004422"
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Contact.create({"FirstName": "No last name"})
    assert exc.value.content == [{"message": "Required fields are missing: [LastName]", "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["LastName"]}]


def test_upsert_by_external_id_creates_updates_and_reports_several(ctl, sf):
    ctl.add_field("ThankView__c", "Send_Id__c", "string", external_id=True)
    assert sf.ThankView__c.upsert("Send_Id__c/s-1", {"Event_Name__c": "A"}) == 201
    assert sf.ThankView__c.upsert("Send_Id__c/S-1", {"Event_Name__c": "B"}) == 200
    [row] = sf.query("SELECT Event_Name__c, Send_Id__c FROM ThankView__c")["records"]
    assert (row["Event_Name__c"], row["Send_Id__c"]) == ("B", "s-1")
    ctl.seed("ThankView__c", [{"Send_Id__c": "s-1"}])
    with pytest.raises(SalesforceMoreThanOneRecord):
        sf.ThankView__c.upsert("Send_Id__c/s-1", {"Event_Name__c": "C"})


# --- sObject Collections ---------------------------------------------------------------------


def test_collections_create_reports_each_record_in_order(ctl, sf):
    cid, gone = ctl.seed("Contact", [{"LastName": "A"}, {"LastName": "B"}])
    [lid] = ctl.seed("Lead", [{"LastName": "L", "Company": "C"}])
    ctl.delete("Contact", gone)
    results = create(sf, [
        tv(Contact__c=cid, Event_Name__c="Gala", Opened__c=True, Views__c=2, Sent_Date__c="2024-01-01T10:00:00.000Z"),
        tv(Contact__c=cid, Bogus__c=1),
        tv(Contact__c=lid),
        tv(Contact__c=cid[:3] + "000000000000"),
        tv(Contact__c=gone),
        tv(Lead__c=lid, Text_Reply__c="x" * 256),
    ])
    assert results[0]["success"] is True and results[0]["errors"] == [] and results[0]["id"].startswith("a0X")
    assert error_of(results[1]) == {"statusCode": "INVALID_FIELD", "message": "No such column 'Bogus__c' on sobject of type ThankView__c", "fields": []}
    assert error_of(results[2]) == {"statusCode": "MALFORMED_ID", "message": f"Contact: id value of incorrect type: {lid}", "fields": ["Contact__c"]}
    assert error_of(results[3])["statusCode"] == "INVALID_CROSS_REFERENCE_KEY"
    assert error_of(results[4])["statusCode"] == "INVALID_CROSS_REFERENCE_KEY"
    err = error_of(results[5])
    assert err["statusCode"] == "STRING_TOO_LONG" and err["fields"] == ["Text_Reply__c"] and "(max length=255)" in err["message"]
    [row] = sf.query("SELECT Views__c, Opened__c, Clicked__c, Sent_Date__c FROM ThankView__c")["records"]
    assert (row["Views__c"], row["Opened__c"], row["Clicked__c"], row["Sent_Date__c"]) == (2.0, True, False, "2024-01-01T10:00:00.000+0000")


def test_newly_required_field_is_reported_per_record(ctl, sf):
    ctl.add_field("ThankView__c", "Donor_ID__c", "string")
    ctl.require_field("ThankView__c", "Donor_ID__c")
    [result] = create(sf, [tv(Event_Name__c="x")])
    assert error_of(result) == {"statusCode": "REQUIRED_FIELD_MISSING", "message": "Required fields are missing: [Donor_ID__c]", "fields": ["Donor_ID__c"]}
    ctl.remove_field("ThankView__c", "Event_Name__c")
    [result] = create(sf, [tv(Event_Name__c="x", Donor_ID__c="d")])
    assert error_of(result)["message"] == "No such column 'Event_Name__c' on sobject of type ThankView__c"


def test_collections_all_or_none_rolls_everything_back(ctl, sf):
    results = create(sf, [tv(Event_Name__c="ok"), tv(Bogus__c=1)], all_or_none=True)
    assert error_of(results[0]) == {"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "message": "Record rolled back because not all records were valid and the request was using AllOrNone header", "fields": []}
    assert error_of(results[1])["statusCode"] == "INVALID_FIELD"
    assert sf.query("SELECT COUNT() FROM ThankView__c")["totalSize"] == 0


def test_collections_update_upsert_delete_and_retrieve(ctl, sf):
    ctl.add_field("ThankView__c", "Send_Id__c", "string", external_id=True)
    a, _, c = (r["id"] for r in create(sf, [tv(Event_Name__c="a"), tv(Event_Name__c="b"), tv(Event_Name__c="c")]))
    ctl.delete("ThankView__c", c)
    updated = sf.restful("composite/sobjects", method="PATCH", json={"allOrNone": False, "records": [
        tv(id=a, Views__c=5), tv(id=c, Views__c=1), tv(id=a[:3] + "000000000000", Views__c=1), tv(id="bad", Views__c=1)]})
    assert updated[0] == {"id": a, "success": True, "errors": []}
    assert [error_of(r)["statusCode"] for r in updated[1:]] == ["ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY", "MALFORMED_ID"]

    upserted = sf.restful("composite/sobjects/ThankView__c/Send_Id__c", method="PATCH", json={"allOrNone": False, "records": [
        tv(Send_Id__c="s1", Event_Name__c="new"), tv(Send_Id__c="s2"), tv(Send_Id__c="s2")]})
    assert upserted[0]["created"] is True and upserted[0]["success"] is True
    assert [error_of(r)["statusCode"] for r in upserted[1:]] == ["DUPLICATE_EXTERNAL_ID", "DUPLICATE_EXTERNAL_ID"]
    again = sf.restful("composite/sobjects/ThankView__c/Send_Id__c", method="PATCH", json={"records": [tv(Send_Id__c="S1", Views__c=9)]})
    assert again == [{"id": upserted[0]["id"], "success": True, "errors": [], "created": False}]

    got = sf.restful("composite/sobjects/ThankView__c", params={"ids": f"{a},{c}", "fields": "Id,Views__c"})
    assert got[0]["Views__c"] == 5.0 and got[1] is None

    deleted = sf.restful("composite/sobjects", method="DELETE", params={"ids": f"{a},{c}", "allOrNone": "false"})
    assert deleted[0] == {"id": a, "success": True, "errors": []}
    assert error_of(deleted[1])["statusCode"] == "ENTITY_IS_DELETED"


def test_collections_refuse_more_than_200_records(ctl, sf):
    with pytest.raises(SalesforceMalformedRequest) as exc:
        create(sf, [tv(Event_Name__c=str(i)) for i in range(201)])
    assert exc.value.content == [{"message": "record limit reached. cannot submit more than 200 records into this call", "errorCode": "EXCEEDED_ID_LIMIT"}]
    assert len(create(sf, [tv(Event_Name__c=str(i)) for i in range(200)])) == 200


def test_boolean_given_as_string_fails_the_request_with_json_parser_error(ctl, sf):
    with pytest.raises(SalesforceMalformedRequest) as exc:
        create(sf, [tv(Event_Name__c="ok"), tv(Opened__c="false")])
    [err] = exc.value.content
    assert err["errorCode"] == "JSON_PARSER_ERROR" and "boolean" in err["message"]
    assert sf.query("SELECT COUNT() FROM ThankView__c")["totalSize"] == 0
    with pytest.raises(SalesforceMalformedRequest) as exc:
        create(sf, [tv(Sent_Date__c="01/02/2024")])
    assert exc.value.content[0]["errorCode"] == "JSON_PARSER_ERROR"


def test_composite_runs_query_subrequests_as_one_call(ctl, sf):
    ctl.seed("Contact", [{"LastName": "A", "Email": "a@x.org"}])
    before = sf.limits()["DailyApiRequests"]["Remaining"]
    body = {"allOrNone": False, "compositeRequest": [
        {"method": "GET", "url": "/services/data/v59.0/query/?q=SELECT+Id+FROM+Contact+WHERE+Email+=+'A@X.ORG'", "referenceId": "c"},
        {"method": "POST", "url": "/services/data/v59.0/sobjects/ThankView__c/", "referenceId": "t",
         "body": {"Contact__c": "@{c.records[0].Id}", "Event_Name__c": "E"}},
    ]}
    out = sf.restful("composite", method="POST", json=body)["compositeResponse"]
    assert [r["httpStatusCode"] for r in out] == [200, 201] and out[0]["body"]["totalSize"] == 1
    assert sf.limits()["DailyApiRequests"]["Remaining"] == before - 2  # the composite call + this limits call


def test_sforce_limit_info_agrees_with_limits(ctl, sf):
    ctl.limits(used=100, max=1000)
    sf.query("SELECT Id FROM Contact")
    assert tuple(sf.api_usage["api-usage"]) == (101, 1000)
    limits = sf.limits()
    assert limits["DailyApiRequests"] == {"Max": 1000, "Remaining": 1000 - 102}


def test_versions_listing(ctl, http, sim):
    versions = http.get(f"{sim.url}/services/data/").json()
    assert {"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"} in versions
    assert versions[-1]["version"] == "66.0" and versions[0]["version"] == "42.0"


def test_generated_ids_carry_the_right_checksum(ctl, sf):
    new_id = sf.Contact.create({"LastName": "X"})["id"]
    assert len(new_id) == 18 and new_id.startswith("003") and new_id[15:] == ids.checksum(new_id[:15])
    assert ids.checksum("001D000000IRFma") == "IAH"


def test_composite_all_or_none_rolls_back_and_halts(ctl, sf):
    body = {"allOrNone": True, "compositeRequest": [
        {"method": "POST", "url": "/services/data/v59.0/sobjects/ThankView__c/", "referenceId": "ok", "body": {"Event_Name__c": "E"}},
        {"method": "POST", "url": "/services/data/v59.0/sobjects/ThankView__c/", "referenceId": "bad", "body": {"Nope__c": 1}},
        {"method": "GET", "url": "/services/data/v59.0/sobjects/ThankView__c/@{ok.id}", "referenceId": "after"},
    ]}
    out = sf.restful("composite", method="POST", json=body)["compositeResponse"]
    assert [r["httpStatusCode"] for r in out] == [400, 400, 400]
    assert out[0]["body"][0]["errorCode"] == "PROCESSING_HALTED" and out[1]["body"][0]["errorCode"] == "INVALID_FIELD"
    assert ctl.records("ThankView__c") == []


def test_custom_contact_object_with_its_own_prefix(ctl, sf):
    created = ctl.create_object("Constituent__c", [{"name": "Email__c", "type": "email"}])
    assert created["keyPrefix"].startswith("a") and created["keyPrefix"] != "a0X"
    ctl.add_field("ThankView__c", "Constituent__c", "reference", reference_to="Constituent__c")
    [cid] = ctl.seed("Constituent__c", [{"Email__c": "Donor@X.org"}])
    assert cid.startswith(created["keyPrefix"])
    [row] = sf.query("SELECT Id, Email__c FROM Constituent__c WHERE Email__c IN ('donor@x.org')")["records"]
    assert row["Email__c"] == "Donor@X.org"
    [result] = create(sf, [tv(Constituent__c=cid, Event_Name__c="Gala")])
    assert result["success"] is True
    rel = next(f for f in sf.ThankView__c.describe()["fields"] if f["name"] == "Constituent__c")
    assert rel["referenceTo"] == ["Constituent__c"] and rel["relationshipName"] == "Constituent__r"


def test_composite_query_subrequests_skip_the_uri_limit_page_and_keep_the_soql_limits(ctl, sf):
    """§2.4/§2.8: a query too long for a GET URI runs as a /composite subrequest (the URL is
    in the body); its nextRecordsUrl is fetched as a later subrequest; the SOQL statement
    limit (100,000 characters) still applies per subrequest; at most 5 query subrequests."""
    from urllib.parse import urlencode

    ctl.config(query_batch_size=500)
    emails = [f"p{i}@example.org" for i in range(1100)]
    ctl.seed("Contact", [{"LastName": f"L{i}", "Email": e} for i, e in enumerate(emails)])
    long_query = "SELECT Id, Email FROM Contact WHERE Email IN (" + ",".join(f"'{e}'" for e in emails) + ")"
    too_long = "SELECT Id FROM Contact WHERE Email IN (" + ",".join(f"'q{i}@example.org'" for i in range(6000)) + ")"
    assert len(urlencode({"q": long_query})) > 16_384 and len(too_long) > 100_000

    def composite(*urls):
        body = {"allOrNone": False, "compositeRequest": [
            {"method": "GET", "url": url, "referenceId": f"r{n}"} for n, url in enumerate(urls)]}
        return sf.restful("composite", method="POST", json=body)["compositeResponse"]

    first, over = composite(f"/services/data/v59.0/query/?{urlencode({'q': long_query})}",
                            f"/services/data/v59.0/query/?{urlencode({'q': too_long})}")
    assert first["httpStatusCode"] == 200 and first["body"]["totalSize"] == 1100 and len(first["body"]["records"]) == 500
    assert over["httpStatusCode"] == 400 and over["body"][0]["errorCode"] == "MALFORMED_QUERY"
    seen = [r["Email"] for r in first["body"]["records"]]
    page = first["body"]
    while not page["done"]:
        [sub] = composite(page["nextRecordsUrl"])
        assert sub["httpStatusCode"] == 200
        page = sub["body"]
        seen += [r["Email"] for r in page["records"]]
    assert sorted(seen) == sorted(emails)
    with pytest.raises(SalesforceMalformedRequest) as exc:
        composite(*[f"/services/data/v59.0/query/?{urlencode({'q': 'SELECT Id FROM Contact'})}"] * 6)
    assert exc.value.content[0]["errorCode"] == "LIMIT_EXCEEDED"
