"""The shipped SFDX metadata matches the guide's field table exactly (names and types)."""

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from integrations.salesforce.mapping import DEFAULT_MAPPINGS
from integrations.salesforce.schema import GUIDE_FIELDS, LOOKUP_FIELDS, PORTAL_FIELDS, SEND_ID_FIELD

ROOT = Path(__file__).resolve().parents[2] / "salesforce"
OBJ = ROOT / "force-app/main/default/objects/ThankView__c"
NS = {"md": "http://soap.sforce.com/2006/04/metadata"}
# The published guide, kept in the repo so this check runs everywhere.
GUIDE = Path(__file__).resolve().parents[2] / "docs" / "thankview-salesforce-guide.txt"

# The guide's table, transcribed once by hand (the guide's layout is "Name |\nType |").
GUIDE_TABLE = {
    "Contact__c": "Lookup (Contact)", "Lead__c": "Lookup (Lead)", "Event_Name__c": "Text",
    "Sent_Date__c": "DateTime", "Opened__c": "Checkbox", "Clicked__c": "Checkbox",
    "Started_Watching__c": "Checkbox", "Finished_Watching__c": "Checkbox", "CTA_Clicked__c": "Checkbox",
    "Downloaded__c": "Checkbox", "Shared__c": "Checkbox", "Bounced__c": "Checkbox",
    "Unsubscribed__c": "Checkbox", "Views__c": "Number", "Url__c": "URL", "Video_Url__c": "URL",
    "Text_Reply__c": "Text (255)", "Video_Reply__c": "URL",
}
# Guide type → CustomField <type> (and lookup target).
METADATA_TYPE = {"Text": "Text", "Text (255)": "Text", "DateTime": "DateTime", "Checkbox": "Checkbox",
                 "Number": "Number", "URL": "Url", "Lookup (Contact)": "Lookup", "Lookup (Lead)": "Lookup"}


def _field(path):
    root = ET.parse(path).getroot()
    assert root.tag == "{{{}}}CustomField".format(NS["md"])
    return {child.tag.split("}")[1]: (child.text or "") for child in root}


def test_guide_table_transcription_matches_the_guide_text():
    text = GUIDE.read_text()
    table = text[text.index("Field API NameType"): text.index("Important: Field API names")]
    pairs = re.findall(r"^(\w+__c) \|\n(.+?) \|$", table, re.MULTILINE)
    assert dict(pairs) == GUIDE_TABLE


def test_schema_module_lists_the_guide_table_in_order():
    assert [(f.name, f.guide_type) for f in GUIDE_FIELDS] == list(GUIDE_TABLE.items())


def test_every_guide_field_has_metadata_with_exact_api_name_and_type():
    files = {p.name.removesuffix(".field-meta.xml"): p for p in (OBJ / "fields").glob("*.field-meta.xml")}
    for name, guide_type in GUIDE_TABLE.items():
        assert name in files, f"missing metadata for {name}"
        f = _field(files[name])
        assert f["fullName"] == name
        assert f["type"] == METADATA_TYPE[guide_type], name
        if guide_type.startswith("Lookup"):
            assert f["referenceTo"] == guide_type[len("Lookup ("):-1]
            assert f["deleteConstraint"] == "SetNull"  # a deleted Contact keeps its ThankView__c records
        if f["type"] == "Text":
            assert f["length"] == "255"
        if f["type"] == "Checkbox":
            assert f["defaultValue"] == "false"
        if f["type"] == "Number":
            assert (f["precision"], f["scale"]) == ("18", "0")
        assert f.get("required", "false") == "false"


def test_optional_portal_and_send_id_fields():
    for gf in PORTAL_FIELDS:
        f = _field(OBJ / "fields" / f"{gf.name}.field-meta.xml")
        assert (f["fullName"], f["type"]) == (gf.name, "Text")
    f = _field(OBJ / "fields" / f"{SEND_ID_FIELD.name}.field-meta.xml")
    assert f["type"] == "Text" and f["externalId"] == "true" and f["unique"] == "true"
    # Beyond the guide: formulas that let reports count checkboxes (never written by the sync).
    counts = {"Opened_Count__c", "Finished_Watching_Count__c", "CTA_Clicked_Count__c"}
    expected = set(GUIDE_TABLE) | {g.name for g in PORTAL_FIELDS} | {SEND_ID_FIELD.name} | counts
    assert {p.name.removesuffix(".field-meta.xml") for p in (OBJ / "fields").glob("*.xml")} == expected


def test_object_and_project_files():
    obj = ET.parse(OBJ / "ThankView__c.object-meta.xml").getroot()
    assert obj.find("md:deploymentStatus", NS).text == "Deployed"
    assert obj.find("md:nameField/md:type", NS).text == "AutoNumber"  # Name never needs a mapping
    project = json.loads((ROOT / "sfdx-project.json").read_text())
    assert project["packageDirectories"][0]["path"] == "force-app"
    assert re.fullmatch(r"\d+\.0", project["sourceApiVersion"])


def test_permission_set_grants_api_and_every_field():
    ps = ET.parse(ROOT / "force-app/main/default/permissionsets/ThankView_Integration.permissionset-meta.xml").getroot()
    objs = {o.find("md:object", NS).text: o for o in ps.findall("md:objectPermissions", NS)}
    tv = objs["ThankView__c"]
    assert [tv.find(f"md:{p}", NS).text for p in ("allowCreate", "allowEdit", "allowRead")] == ["true"] * 3
    assert objs["Contact"].find("md:allowRead", NS).text == "true"
    assert objs["Lead"].find("md:allowRead", NS).text == "true"
    fields = {fp.find("md:field", NS).text for fp in ps.findall("md:fieldPermissions", NS)
              if fp.find("md:editable", NS).text == "true"}
    assert {f"ThankView__c.{n}" for n in GUIDE_TABLE} <= fields
    perms = {u.find("md:name", NS).text for u in ps.findall("md:userPermissions", NS)}
    assert "ApiEnabled" in perms


def test_default_mappings_cover_every_engagement_field_but_not_lookups():
    assert set(DEFAULT_MAPPINGS) == set(GUIDE_TABLE) - set(LOOKUP_FIELDS)
