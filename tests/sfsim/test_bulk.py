"""Bulk API 2.0 ingest through simple-salesforce's bulk2 client (§2.9)."""

import csv
import io
import time

import pytest
from simple_salesforce.exceptions import SalesforceOperationError


def rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_bulk2_insert_then_results(ctl, sf):
    cids = ctl.seed("Contact", [{"LastName": f"C{i}"} for i in range(3)])
    records = [{"Event_Name__c": f"E{i}", "Opened__c": "true", "Contact__c": cids[i % 3], "Views__c": str(i)} for i in range(5)]
    records.append({"Event_Name__c": "bad", "Opened__c": "maybe", "Contact__c": "", "Views__c": ""})
    [result] = sf.bulk2.ThankView__c.insert(records=records, wait=0.2)
    assert result["numberRecordsProcessed"] == 6 and result["numberRecordsFailed"] == 1 and result["numberRecordsTotal"] == 6

    ok = sf.bulk2.ThankView__c.get_successful_records(result["job_id"])
    assert ok.splitlines()[0].startswith('"sf__Id","sf__Created",')
    ok_rows = rows(ok)
    assert len(ok_rows) == 5 and all(r["sf__Created"] == "true" and r["sf__Id"].startswith("a0X") for r in ok_rows)

    [failed] = rows(sf.bulk2.ThankView__c.get_failed_records(result["job_id"]))
    assert failed["sf__Id"] == "" and failed["Event_Name__c"] == "bad"
    assert failed["sf__Error"] == "INVALID_TYPE_ON_FIELD_IN_RECORD:Opened: value not of required type: maybe:Opened__c --"
    assert sf.query("SELECT COUNT() FROM ThankView__c WHERE Opened__c = true")["totalSize"] == 5
    assert rows(sf.bulk2.ThankView__c.get_unprocessed_records(result["job_id"])) == []


def test_bulk2_upsert_by_external_id(ctl, sf):
    ctl.add_field("ThankView__c", "Send_Id__c", "string", external_id=True)
    [first] = sf.bulk2.ThankView__c.upsert(records=[{"Send_Id__c": "s1", "Event_Name__c": "A"}], external_id_field="Send_Id__c", wait=0.2)
    [second] = sf.bulk2.ThankView__c.upsert(records=[{"Send_Id__c": "S1", "Event_Name__c": "B"}, {"Send_Id__c": "s2", "Event_Name__c": "C"}],
                                           external_id_field="Send_Id__c", wait=0.2)
    created = {r["Send_Id__c"]: r["sf__Created"] for r in rows(sf.bulk2.ThankView__c.get_successful_records(second["job_id"]))}
    assert created == {"S1": "false", "s2": "true"} and first["numberRecordsFailed"] == 0
    assert sorted(r["Event_Name__c"] for r in ctl.records("ThankView__c")) == ["B", "C"]


def test_job_goes_through_in_progress_and_reports_required_fields(ctl, sf, http, sim, token):
    base = f"{sim.url}/services/data/v59.0/jobs/ingest"
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    job = http.post(base, json={"object": "Contact", "operation": "insert", "lineEnding": "LF"}, headers=headers).json()
    assert job["state"] == "Open" and job["id"].startswith("750") and job["contentUrl"].endswith("/batches")
    upload = http.put(f"{base}/{job['id']}/batches", data="FirstName,LastName\nA,Doe\nB,\n",
                      headers={**headers, "Content-Type": "text/csv"})
    assert upload.status_code == 201 and upload.content == b""
    assert "Sforce-Limit-Info" in upload.headers
    closed = http.patch(f"{base}/{job['id']}", json={"state": "UploadComplete"}, headers=headers).json()
    assert closed["state"] == "UploadComplete"
    states = set()
    for _ in range(100):
        info = http.get(f"{base}/{job['id']}", headers=headers).json()
        states.add(info["state"])
        if info["state"] == "JobComplete":
            break
        time.sleep(0.02)
    assert states >= {"InProgress", "JobComplete"}
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (2, 1)
    failed = http.get(f"{base}/{job['id']}/failedResults/", headers=headers).text
    assert "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --" in failed


def test_unknown_column_fails_the_job(ctl, sf):
    with pytest.raises(SalesforceOperationError, match="Field name not found : Nope__c"):
        sf.bulk2.ThankView__c.insert(records=[{"Nope__c": "x"}], wait=0.2)


def test_aborted_job_leaves_unprocessed_records(ctl, http, sim, token):
    base = f"{sim.url}/services/data/v59.0/jobs/ingest"
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    job = http.post(base, json={"object": "Contact", "operation": "insert"}, headers=headers).json()
    http.put(f"{base}/{job['id']}/batches", data="LastName\nDoe\n", headers={**headers, "Content-Type": "text/csv"})
    assert http.patch(f"{base}/{job['id']}", json={"state": "Aborted"}, headers=headers).json()["state"] == "Aborted"
    for spelling in ("unprocessedrecords", "unprocessedRecords"):
        assert http.get(f"{base}/{job['id']}/{spelling}/", headers=headers).text.splitlines() == ["LastName", '"Doe"']


def test_bulk2_update_leaves_empty_cells_alone_and_na_clears(ctl, sf):
    [rec_id] = ctl.seed("ThankView__c", [{"Event_Name__c": "Gala", "Text_Reply__c": "thanks", "Views__c": 2}])
    [result] = sf.bulk2.ThankView__c.update(records=[{"Id": rec_id, "Event_Name__c": "", "Text_Reply__c": "#N/A", "Views__c": "3"}], wait=0.2)
    assert result["numberRecordsFailed"] == 0
    rec = ctl.get("ThankView__c", rec_id)
    assert (rec["Event_Name__c"], rec["Text_Reply__c"], rec["Views__c"]) == ("Gala", None, 3.0)


def test_upload_larger_than_the_limit_in_bytes_is_refused(ctl, sim, token, http):
    """The limit counts bytes: 40 "é" are 40 characters but 80 bytes of UTF-8."""
    ctl.config(bulk_max_upload_bytes=100)
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    base = f"{sim.url}/services/data/v59.0/jobs/ingest"
    job = http.post(base, json={"object": "Contact", "operation": "insert", "lineEnding": "LF"}, headers=headers).json()
    body = "LastName\n" + "é" * 40 + "\n"  # 50 characters, 90 bytes
    ok = http.put(f"{base}/{job['id']}/batches", data=body.encode(), headers={**headers, "Content-Type": "text/csv"})
    assert ok.status_code == 201
    big = "LastName\n" + "é" * 50 + "\n"  # 60 characters, 110 bytes
    job2 = http.post(base, json={"object": "Contact", "operation": "insert", "lineEnding": "LF"}, headers=headers).json()
    refused = http.put(f"{base}/{job2['id']}/batches", data=big.encode(), headers={**headers, "Content-Type": "text/csv"})
    assert refused.status_code == 400
    assert refused.json() == [{"errorCode": "INVALIDBATCH",
                               "message": "InvalidBatch : The upload is 110 bytes; the limit is 100 bytes"}]
