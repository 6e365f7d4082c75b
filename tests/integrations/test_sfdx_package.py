"""The deployable package under salesforce/: every metadata file parses, names only fields that
exist, joins through the lookups' real relationship names, and is listed in the manifest.

`make sf-validate` checks element names and order against the Metadata API's own types with
the Salesforce CLI; this test needs no CLI and runs everywhere.
"""

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "salesforce"
SRC = ROOT / "force-app/main/default"
OBJ = SRC / "objects/ThankView__c"
MD = "http://soap.sforce.com/2006/04/metadata"
NS = {"md": MD}

# Standard fields the package names, per object (custom fields come from objects/ThankView__c/fields).
STANDARD = {
    "ThankView__c": {"Name", "OwnerId", "CreatedById", "LastModifiedById", "CreatedDate", "LastModifiedDate"},
    "Contact": {"Name", "FirstName", "LastName", "Email", "Phone", "Title", "LastActivityDate"},
    "Lead": {"Name", "FirstName", "LastName", "Company", "Email", "Phone", "Status", "IsConverted", "LastActivityDate"},
}
# List views name standard columns by their own tokens (record name, last modified date).
LIST_VIEW_STANDARD = {"NAME", "LAST_UPDATE"}
CHECKBOXES = ["Opened__c", "Clicked__c", "Started_Watching__c", "Finished_Watching__c", "CTA_Clicked__c",
              "Downloaded__c", "Shared__c", "Bounced__c", "Unsubscribed__c"]
COUNTS = {"Opened_Count__c": "Opened__c", "Finished_Watching_Count__c": "Finished_Watching__c",
          "CTA_Clicked_Count__c": "CTA_Clicked__c"}


def parse(path):
    return ET.parse(path).getroot()


def texts(el, path):
    return [e.text for e in el.findall(path, NS)]


def text(el, path):
    return el.findtext(path, namespaces=NS)


FIELDS = {p.name.removesuffix(".field-meta.xml"): parse(p) for p in (OBJ / "fields").glob("*.field-meta.xml")}
TV_FIELDS = set(FIELDS) | STANDARD["ThankView__c"]
LOOKUPS = {name: f for name, f in FIELDS.items() if text(f, "md:type") == "Lookup"}
REPORT_TYPES = {p.name.removesuffix(".reportType-meta.xml"): parse(p) for p in (SRC / "reportTypes").glob("*.xml")}
REPORTS = {p.relative_to(SRC / "reports").as_posix().removesuffix(".report-meta.xml"): parse(p)
           for p in (SRC / "reports").glob("*/*.report-meta.xml")}


def test_every_file_is_well_formed_xml_in_the_metadata_namespace():
    files = sorted(SRC.rglob("*")) + [ROOT / "manifest/package.xml"]
    checked = 0
    for path in files:
        if path.is_dir():
            continue
        assert path.name.endswith("-meta.xml") or path.name == "package.xml", path
        root = parse(path)  # raises on malformed XML
        assert root.tag.startswith(f"{{{MD}}}"), path
        checked += 1
    assert checked == 45  # 44 components + the manifest


def test_every_field_has_a_plain_words_description_and_help_text():
    for name, f in FIELDS.items():
        assert text(f, "md:description").strip(), name
        help_text = text(f, "md:inlineHelpText").strip()
        assert 0 < len(help_text) <= 510, name  # Salesforce's limit for help text
        assert "__c" not in help_text, name  # help text speaks to fundraisers, not in API names


def test_count_fields_are_formulas_over_the_checkboxes_they_count():
    for name, checkbox in COUNTS.items():
        f = FIELDS[name]
        assert (text(f, "md:type"), text(f, "md:formula")) == ("Number", f"IF({checkbox}, 1, 0)")
        assert text(FIELDS[checkbox], "md:type") == "Checkbox"


def test_page_layout_groups_the_fields_into_the_four_sections():
    layout = parse(SRC / "layouts/ThankView__c-ThankView Layout.layout-meta.xml")
    sections = {text(s, "md:label"): texts(s, "md:layoutColumns/md:layoutItems/md:field")
                for s in layout.findall("md:layoutSections", NS)}
    assert {k: set(v) for k, v in sections.items()} == {
        "Recipient": {"Contact__c", "Lead__c"},
        "Campaign": {"Event_Name__c", "Sent_Date__c", "Url__c", "Video_Url__c", "Portal_Id__c", "Portal_Name__c"},
        "Engagement": set(CHECKBOXES) | {"Views__c"},
        "Replies": {"Text_Reply__c", "Video_Reply__c"},
        "System Information": {"Name", "Send_Id__c", "OwnerId", "CreatedById", "LastModifiedById"},
    }
    placed = [f for fields in sections.values() for f in fields]
    assert len(placed) == len(set(placed))
    assert set(placed) <= TV_FIELDS


def test_compact_layout_is_the_objects_and_names_existing_fields():
    compact = parse(OBJ / "compactLayouts/ThankView_Engagement_Compact.compactLayout-meta.xml")
    # There is no Replied field: the compact layout shows the two reply fields instead.
    assert texts(compact, "md:fields") == ["Event_Name__c", "Sent_Date__c", "Finished_Watching__c", "CTA_Clicked__c",
                                           "Text_Reply__c", "Video_Reply__c"]
    assert set(texts(compact, "md:fields")) <= set(FIELDS)
    obj = parse(OBJ / "ThankView__c.object-meta.xml")
    assert text(obj, "md:compactLayoutAssignment") == text(compact, "md:fullName")


def test_search_layouts_name_existing_fields():
    layouts = parse(OBJ / "ThankView__c.object-meta.xml").find("md:searchLayouts", NS)
    named = [e.text for e in layouts]
    assert len(named) == 16
    assert set(named) <= set(FIELDS)


def test_list_views_filter_and_show_existing_fields():
    views = {p.name.removesuffix(".listView-meta.xml"): parse(p) for p in (OBJ / "listViews").glob("*.xml")}
    assert {n: text(v, "md:label") for n, v in views.items()} == {
        "All": "All engagement",
        "Replied": "Replied",
        "Finished_Watching_Last_7_Days": "Finished watching, last 7 days",
        "CTA_Clicked_Last_30_Days": "Clicked the CTA, last 30 days",
        "Bounced_or_Unsubscribed": "Bounced or unsubscribed",
    }
    for name, view in views.items():
        assert text(view, "md:fullName") == name
        filters = view.findall("md:filters", NS)
        named = texts(view, "md:columns") + [text(f, "md:field") for f in filters]
        assert set(named) <= set(FIELDS) | LIST_VIEW_STANDARD, name
        numbers = {int(n) for n in re.findall(r"\d+", text(view, "md:booleanFilter") or "")}
        assert numbers <= set(range(1, len(filters) + 1)), name
    replied = views["Replied"]
    assert text(replied, "md:booleanFilter") == "1 OR 2"
    assert [(text(f, "md:field"), text(f, "md:operation")) for f in replied.findall("md:filters", NS)] == [
        ("Text_Reply__c", "notEqual"), ("Video_Reply__c", "notEqual")]


def _report_type_columns(rt):
    """(table, field) pairs a report of this type may use, checked against the objects' fields."""
    base = text(rt, "md:baseObject")
    relationship = text(rt, "md:join/md:relationship")
    allowed = {base: STANDARD[base] if base != "ThankView__c" else TV_FIELDS}
    if relationship:
        allowed[f"{base}.{relationship}"] = TV_FIELDS
    pairs = set()
    for col in rt.findall("md:sections/md:columns", NS):
        table, field = text(col, "md:table"), text(col, "md:field")
        assert table in allowed, (table, allowed)
        assert field in allowed[table], (table, field)
        pairs.add((table, field))
    return pairs


@pytest.mark.parametrize("name", sorted(REPORT_TYPES))
def test_report_types_join_through_the_lookups_relationship_names(name):
    rt = REPORT_TYPES[name]
    base = text(rt, "md:baseObject")
    relationship = text(rt, "md:join/md:relationship")
    if base == "ThankView__c":
        assert relationship is None
    else:
        lookups = [f for f in LOOKUPS.values() if text(f, "md:referenceTo") == base]
        assert len(lookups) == 1
        assert relationship == text(lookups[0], "md:relationshipName") + "__r"
        assert text(rt, "md:join/md:outerJoin") == "false"  # only records that have engagement
    assert _report_type_columns(rt)


def test_the_three_report_types():
    assert {n: (text(rt, "md:baseObject"), text(rt, "md:join/md:relationship")) for n, rt in REPORT_TYPES.items()} == {
        "Contacts_with_ThankView_Engagement": ("Contact", "ThankView_Engagements__r"),
        "Leads_with_ThankView_Engagement": ("Lead", "ThankView_Engagements__r"),
        "ThankView_Engagement": ("ThankView__c", None),
    }


def _report_fields(report):
    refs = texts(report, "md:columns/md:field") + texts(report, "md:filter/md:criteriaItems/md:column")
    refs += texts(report, "md:groupingsDown/md:field") + texts(report, "md:timeFrameFilter/md:dateColumn")
    refs += [text(report, "md:sortColumn")] if text(report, "md:sortColumn") else []
    return [tuple(ref.split("$")) for ref in refs]


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_reports_use_only_columns_of_their_report_type(name):
    report = REPORTS[name]
    folder = name.split("/")[0]
    assert (SRC / "reports" / f"{folder}.reportFolder-meta.xml").exists()
    type_name = text(report, "md:reportType").removesuffix("__c")
    assert type_name in REPORT_TYPES
    allowed = _report_type_columns(REPORT_TYPES[type_name])
    for table_field in _report_fields(report):
        assert table_field in allowed, (name, table_field)
    assert len(text(report, "md:name")) <= 40  # Salesforce's limit for a report name


def test_reports_answer_the_fundraisers_questions():
    assert {n: text(r, "md:name") for n, r in REPORTS.items()} == {
        "ThankView/Contacts_Finished_Video_Last_30_Days": "Contacts: finished the video (30 days)",
        "ThankView/Leads_Finished_Video_Last_30_Days": "Leads: finished the video (30 days)",
        "ThankView/Contacts_Replies_Waiting_for_Follow_Up": "Contacts: replies waiting for follow-up",
        "ThankView/Leads_Replies_Waiting_for_Follow_Up": "Leads: replies waiting for follow-up",
        "ThankView/Engagement_by_Campaign": "Engagement by campaign",
    }
    finished = REPORTS["ThankView/Contacts_Finished_Video_Last_30_Days"]
    assert texts(finished, "md:filter/md:criteriaItems/md:column") == [
        "Contact.ThankView_Engagements__r$Finished_Watching__c"]
    assert text(finished, "md:timeFrameFilter/md:interval") == "INTERVAL_LAST30"
    by_campaign = REPORTS["ThankView/Engagement_by_Campaign"]
    assert texts(by_campaign, "md:groupingsDown/md:field") == ["ThankView__c$Event_Name__c"]
    summed = {text(c, "md:field").split("$")[1] for c in by_campaign.findall("md:columns", NS)
              if text(c, "md:aggregateTypes") == "Sum"}
    assert summed == set(COUNTS) | {"Views__c"}


def test_report_folder_is_shared_read_only_with_internal_users():
    folder = parse(SRC / "reports/ThankView.reportFolder-meta.xml")
    shares = [(text(s, "md:accessLevel"), text(s, "md:sharedTo"), text(s, "md:sharedToType"))
              for s in folder.findall("md:folderShares", NS)]
    assert shares == [("View", "AllInternalUsers", "Organization")]


def test_permission_sets_name_existing_fields_and_no_required_field():
    required = {n for n, f in FIELDS.items() if text(f, "md:required") == "true"}
    for path in (SRC / "permissionsets").glob("*.xml"):
        ps = parse(path)
        for field in texts(ps, "md:fieldPermissions/md:field"):
            obj, name = field.split(".")
            assert obj == "ThankView__c", (path.name, field)
            assert name in FIELDS, (path.name, field)
            assert name not in required, (path.name, field)


def test_viewer_permission_set_reads_everything_and_edits_nothing():
    ps = parse(SRC / "permissionsets/ThankView_Engagement_Viewer.permissionset-meta.xml")
    assert text(ps, "md:label") == "ThankView Engagement Viewer"
    perms = {text(fp, "md:field"): (text(fp, "md:readable"), text(fp, "md:editable"))
             for fp in ps.findall("md:fieldPermissions", NS)}
    assert perms == {f"ThankView__c.{n}": ("true", "false") for n in FIELDS}
    [obj] = ps.findall("md:objectPermissions", NS)
    assert text(obj, "md:object") == "ThankView__c"
    assert {e.tag.split("}")[1]: e.text for e in obj if e.tag != f"{{{MD}}}object"} == {
        "allowCreate": "false", "allowDelete": "false", "allowEdit": "false", "allowRead": "true",
        "modifyAllRecords": "false", "viewAllRecords": "false"}
    assert [(text(t, "md:tab"), text(t, "md:visibility")) for t in ps.findall("md:tabSettings", NS)] == [
        ("ThankView__c", "Visible")]
    assert (SRC / "tabs/ThankView__c.tab-meta.xml").exists()


# Where each kind of file lives (source format) → its Metadata API type and member name.
LOCATIONS = [
    (r"objects/(\w+)/\1\.object-meta\.xml", "CustomObject", "{0}"),
    (r"objects/(\w+)/fields/(\w+)\.field-meta\.xml", "CustomField", "{0}.{1}"),
    (r"objects/(\w+)/listViews/(\w+)\.listView-meta\.xml", "ListView", "{0}.{1}"),
    (r"objects/(\w+)/compactLayouts/(\w+)\.compactLayout-meta\.xml", "CompactLayout", "{0}.{1}"),
    (r"layouts/([\w ]+-[\w ]+)\.layout-meta\.xml", "Layout", "{0}"),
    (r"tabs/(\w+)\.tab-meta\.xml", "CustomTab", "{0}"),
    (r"permissionsets/(\w+)\.permissionset-meta\.xml", "PermissionSet", "{0}"),
    (r"reportTypes/(\w+)\.reportType-meta\.xml", "ReportType", "{0}"),
    (r"reports/(\w+)\.reportFolder-meta\.xml", "Report", "{0}"),
    (r"reports/(\w+)/(\w+)\.report-meta\.xml", "Report", "{0}/{1}"),
]


def _component(path):
    rel = path.relative_to(SRC).as_posix()
    for pattern, type_, member in LOCATIONS:
        m = re.fullmatch(pattern, rel)
        if m:
            return type_, member.format(*m.groups())
    raise AssertionError(f"no metadata type known for {rel}")


def test_manifest_lists_every_shipped_component_and_nothing_else():
    manifest = parse(ROOT / "manifest/package.xml")
    listed = {(text(t, "md:name"), m) for t in manifest.findall("md:types", NS) for m in texts(t, "md:members")}
    shipped = {_component(p) for p in SRC.rglob("*-meta.xml")}
    assert listed == shipped
    project = json.loads((ROOT / "sfdx-project.json").read_text())
    assert text(manifest, "md:version") == project["sourceApiVersion"]
