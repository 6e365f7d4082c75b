"""The ``ThankView__c`` object: the guide's field table, and the setup checklist from describe.

``GUIDE_FIELDS`` is the table of the guide's "Required Fields" (API names must match
exactly), with the Salesforce field type of each (metadata type, and describe type per
reference §2.5). The SFDX metadata in ``salesforce/`` ships the same fields; a test checks
both against each other.

``checklist(describe, mappings, connection=...)`` turns one describe answer into the setup
checklist of the settings page and into a summary kept on the connection
(``schema_cache``), which the sync reads for its pre-flight (``Portal_Id__c`` present?
``Send_Id__c`` usable as external id? field types for constants).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .mapping import CAN_BE_BLANK, type_problem
from .setup_guide import DEPLOY_ANCHOR, PERMISSION_SETS_ANCHOR

OBJECT = "ThankView__c"


@dataclass(frozen=True)
class GuideField:
    name: str
    guide_type: str  # as the guide writes it
    metadata_type: str  # CustomField <type> in SFDX metadata
    describe_type: str  # "type" in describe
    reference_to: str = ""
    length: int | None = None


GUIDE_FIELDS = [
    GuideField("Contact__c", "Lookup (Contact)", "Lookup", "reference", reference_to="Contact"),
    GuideField("Lead__c", "Lookup (Lead)", "Lookup", "reference", reference_to="Lead"),
    GuideField("Event_Name__c", "Text", "Text", "string", length=255),
    GuideField("Sent_Date__c", "DateTime", "DateTime", "datetime"),
    GuideField("Opened__c", "Checkbox", "Checkbox", "boolean"),
    GuideField("Clicked__c", "Checkbox", "Checkbox", "boolean"),
    GuideField("Started_Watching__c", "Checkbox", "Checkbox", "boolean"),
    GuideField("Finished_Watching__c", "Checkbox", "Checkbox", "boolean"),
    GuideField("CTA_Clicked__c", "Checkbox", "Checkbox", "boolean"),
    GuideField("Downloaded__c", "Checkbox", "Checkbox", "boolean"),
    GuideField("Shared__c", "Checkbox", "Checkbox", "boolean"),
    GuideField("Bounced__c", "Checkbox", "Checkbox", "boolean"),
    GuideField("Unsubscribed__c", "Checkbox", "Checkbox", "boolean"),
    GuideField("Views__c", "Number", "Number", "double"),
    GuideField("Url__c", "URL", "Url", "url"),
    GuideField("Video_Url__c", "URL", "Url", "url"),
    GuideField("Text_Reply__c", "Text (255)", "Text", "string", length=255),
    GuideField("Video_Reply__c", "URL", "Url", "url"),
]
# "If your organization uses multiple ThankView portals, your admin may also add" these.
PORTAL_FIELDS = [
    GuideField("Portal_Id__c", "Text", "Text", "string", length=255),
    GuideField("Portal_Name__c", "Text", "Text", "string", length=255),
]
# Beyond the guide: an External ID on the send makes every write an idempotent upsert.
SEND_ID_FIELD = GuideField("Send_Id__c", "Text (External ID, unique)", "Text", "string", length=64)
LOOKUP_FIELDS = ("Contact__c", "Lead__c")

# Fields the sync fills itself, never through a mapping.
SYNC_OWNED = {"Contact__c", "Lead__c", "Portal_Id__c", "Portal_Name__c", "Send_Id__c"}


def _fields_by_name(describe: dict) -> dict[str, dict]:
    # Salesforce API names are case-insensitive; describe returns the canonical case.
    return {f["name"].lower(): f for f in describe.get("fields", [])}


def field_info(describe: dict, name: str) -> dict | None:
    return _fields_by_name(describe).get(name.lower())


def read_only(f: dict) -> bool:
    """Field-level security keeps the connected user from writing this field: describe says
    ``createable`` or ``updateable`` false (a formula or an Auto Number is another matter)."""
    return not f.get("calculated") and not f.get("autoNumber") and not (f.get("createable") and f.get("updateable"))


def must_have_value(f: dict) -> bool:
    """Salesforce refuses a record without a value here: not nillable, not defaulted."""
    return not f.get("nillable", True) and not f.get("defaultedOnCreate", False) and f.get("type") != "boolean"


def is_text_name(f: dict) -> bool:
    """The object's Name is Text (an object created by hand in Setup), not an Auto Number:
    the sync fills it itself (``values.record_name``)."""
    return bool(f.get("nameField")) and f.get("type") == "string" and not f.get("autoNumber") and bool(f.get("createable"))


def is_required_on_create(f: dict) -> bool:
    """Salesforce requires a value on create when the field is createable, not nillable and
    not defaulted (reference §2.5, the common client rule)."""
    return bool(f.get("createable")) and not f.get("nillable", True) and not f.get("defaultedOnCreate", False)


@dataclass
class Item:
    key: str
    status: str  # "ok" | "fail" | "warn" | "info"
    label: str
    detail: str = ""
    guide_anchor: str = ""  # the setup guide's step that fixes it ("" = none)


@dataclass
class Checklist:
    items: list[Item] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    # The first problem that deserves a banner: (kind, code, message, fields) or None.
    problem: tuple[str, str, str, list[str]] | None = None

    @property
    def ok(self) -> bool:
        return not any(i.status == "fail" for i in self.items)

    def add(self, *args, **kwargs):
        self.items.append(Item(*args, **kwargs))


def summarize(describe: dict | None) -> dict:
    """What the sync needs to know from a describe, JSON-serialisable (``schema_cache``)."""
    if describe is None:
        return {"object_present": False, "fields": {}}
    fields = {
        f["name"]: {
            "type": f.get("type"),
            "createable": bool(f.get("createable")),
            "updateable": bool(f.get("updateable")),
            "nillable": bool(f.get("nillable", True)),
            "defaultedOnCreate": bool(f.get("defaultedOnCreate")),
            "calculated": bool(f.get("calculated")),
            "autoNumber": bool(f.get("autoNumber")),
            "nameField": bool(f.get("nameField")),
            "custom": bool(f.get("custom")),
            "required": is_required_on_create(f),
            "externalId": bool(f.get("externalId")),
            "length": f.get("length"),
            "referenceTo": f.get("referenceTo") or [],
        }
        for f in describe.get("fields", [])
    }
    by_lower = {k.lower(): k for k in fields}
    send_id = fields.get(by_lower.get("send_id__c", ""), {})

    def writable(name: str) -> bool:  # present, and the user may write it (field-level security)
        info = fields.get(by_lower.get(name, ""))
        return bool(info) and info["createable"] and info["updateable"]

    return {
        "object_present": True,
        "createable": bool(describe.get("createable")),
        "updateable": bool(describe.get("updateable")),
        "key_prefix": describe.get("keyPrefix"),
        "fields": fields,
        "portal_fields_present": all(p.name.lower() in by_lower for p in PORTAL_FIELDS),
        "portal_id_present": writable("portal_id__c"),
        "portal_name_present": writable("portal_name__c"),
        "send_id_external": bool(send_id.get("externalId")) and writable("send_id__c"),
    }


def describe_from_cache(cache: dict) -> dict | None:
    """A describe-shaped dict rebuilt from ``summarize``'s output (None = object missing / never checked)."""
    if not cache or not cache.get("object_present"):
        return None
    return {
        "name": OBJECT,
        "createable": cache.get("createable"),
        "updateable": cache.get("updateable"),
        "keyPrefix": cache.get("key_prefix"),
        "fields": [{"name": name, **info} for name, info in cache.get("fields", {}).items()],
    }


def checklist(describe: dict | None, mappings, *, connection) -> Checklist:
    """The setup checklist for a describe of ``ThankView__c`` (None = object missing).

    1. The object exists (else: how to create it; nothing else can be checked).
    2. The connected user can create and update it.
    3. The contact lookup (``Contact__c`` or support's custom one) and ``Lead__c`` exist and
       are lookups to the right objects.
    4. Every enabled mapping's target exists, is writable and has a compatible type. A target
       field-level security made read-only is left out of writes (a warning), unless
       Salesforce requires it (a problem); so are the sync's own fields (``Lead__c``,
       ``Portal_Id__c``, ``Portal_Name__c``, ``Send_Id__c``); a read-only contact lookup is
       a problem.
    5. No field is required on create without a mapping (e.g. a newly required Donor_ID__c);
       a Text Name is filled by the sync. A required field mapped to a source that can be
       blank gets a warning: sends without that value are not synced.
    6. ``Portal_Id__c`` / ``Portal_Name__c`` present or not (optional).
    7. ``Send_Id__c`` External ID present or not (optional; duplicates are prevented either way).

    The first problem that deserves a banner becomes ``problem``: missing object, then
    access, then the first mapping problem (3 to 5).
    """
    c = Checklist(summary=summarize(describe))
    if describe is None:
        _check_object_missing(c)
        return c
    c.add("object", "ok", f"The {OBJECT} object exists")
    mappings = list(mappings)
    by_name = _fields_by_name(describe)
    _check_access(c, describe)
    mapping_problems = _check_lookups(c, by_name, connection) + _check_mappings(c, by_name, mappings)
    mapping_problems += _check_owned_access(c, by_name, connection)
    required = _check_required(c, describe, mappings, connection)
    if required:
        mapping_problems.append((required[0], f"Required fields are missing: [{', '.join(required)}]"))
    _check_blank_sources(c, by_name, mappings)
    _check_portal_fields(c)
    _check_send_id(c, by_name)
    if mapping_problems and c.problem is None:
        c.problem = _mapping_problem(mapping_problems, required)
    return c


def _check_object_missing(c: Checklist) -> None:
    c.add(
        "object", "fail", f"The {OBJECT} object exists",
        f"Salesforce has no {OBJECT} object this user can see. Ask your Salesforce admin to deploy "
        "ThankView's Salesforce package (or create the object with the fields listed below), and to give "
        "the connected user the “ThankView Integration” permission set.",
        guide_anchor=DEPLOY_ANCHOR,
    )
    c.problem = ("mapping", "OBJECT_MISSING", f"The {OBJECT} object does not exist or is not accessible.", [OBJECT])


def _check_access(c: Checklist, describe: dict) -> None:
    label = f"The connected user can create and update {OBJECT} records"
    if describe.get("createable") and describe.get("updateable"):
        c.add("access", "ok", label)
        return
    missing = [w for w, flag in (("create", describe.get("createable")), ("update", describe.get("updateable"))) if not flag]
    c.add("access", "fail", label,
          f"The user cannot {' or '.join(missing)} {OBJECT} records. Give them Read/Create/Edit on {OBJECT} "
          "(the “ThankView Integration” permission set does).", guide_anchor=PERMISSION_SETS_ANCHOR)
    c.problem = c.problem or ("permissions", "INSUFFICIENT_ACCESS", f"The connected user cannot {' or '.join(missing)} {OBJECT} records.", [])


def _check_lookups(c: Checklist, by_name: dict, connection) -> list[tuple[str, str]]:
    """The contact lookup (required) and ``Lead__c`` (optional); returns (field, problem) pairs."""
    problems = []
    lookups = [(connection.contact_lookup_field, connection.contact_object, True), ("Lead__c", "Lead", False)]
    for name, target, required in lookups:
        f = by_name.get(name.lower())
        label = f"Lookup field {name} → {target}"
        if f is None:
            c.add(f"lookup:{name}", "fail" if required else "warn", label,
                  f"{name} is missing." + ("" if required else " Engagement can only be linked to Contacts."))
            if required:
                problems.append((name, f"The lookup field {name} does not exist on {OBJECT}."))
        elif f.get("type") != "reference" or target not in (f.get("referenceTo") or []):
            c.add(f"lookup:{name}", "fail", label, f"{name} is a {f.get('type')} field, not a lookup to {target}.")
            problems.append((name, f"{name} is not a lookup to {target}."))
        else:
            c.add(f"lookup:{name}", "ok", label)
    return problems


def _check_mappings(c: Checklist, by_name: dict, mappings) -> list[tuple[str, str]]:
    """Each enabled mapping's target exists and takes its source; returns (field, problem) pairs."""
    problems = []
    for m in mappings:
        f = by_name.get(m.target_field.lower())
        label = f"{m.target_field} ← {m.get_source_display()}"
        if f is None:
            c.add(f"field:{m.target_field}", "fail", label,
                  f"{m.target_field} no longer exists. Update or remove this mapping.")
            problems.append((m.target_field, f"No such column '{m.target_field}' on sobject of type {OBJECT}"))
            continue
        if read_only(f):
            problems += _read_only_item(c, f"field:{f['name']}", label, f)
            continue
        problem = type_problem(m.source, f, constant_value=m.constant_value)
        if problem:
            c.add(f"field:{m.target_field}", "fail", label, problem)
            problems.append((m.target_field, problem))
        else:
            c.add(f"field:{m.target_field}", "ok", label)
    return problems


def _read_only_item(c: Checklist, key: str, label: str, f: dict) -> list[tuple[str, str]]:
    """A field the connected user may not write: a warning (left out of writes), or a problem
    when Salesforce requires a value in it. Returns the (field, problem) pairs."""
    name = f["name"]
    fix = (f"Ask your Salesforce admin to give the “ThankView Integration” permission set Edit access to {name} "
           "(Setup → Permission Sets → Object Settings → ThankView).")
    if must_have_value(f):
        c.add(key, "fail", label, f"{name} is required, but it is read-only for the connected user. {fix}",
              guide_anchor=PERMISSION_SETS_ANCHOR)
        return [(name, f"{name} is required, but it is read-only for the connected user (field-level security).")]
    c.add(key, "warn", label, f"{name} is read-only for the connected user, so ThankView leaves it out. {fix}",
          guide_anchor=PERMISSION_SETS_ANCHOR)
    return []


def _check_owned_access(c: Checklist, by_name: dict, connection) -> list[tuple[str, str]]:
    """The fields the sync fills itself, when field-level security made one read-only: the
    contact lookup is needed (a problem); the others are left out (warnings)."""
    problems = []
    lookup = connection.contact_lookup_field
    for name in (lookup, "Lead__c", "Portal_Id__c", "Portal_Name__c", SEND_ID_FIELD.name):
        f = by_name.get(name.lower())
        if f is None or not read_only(f):
            continue
        if name.lower() == lookup.lower():
            c.add(f"access:{name}", "fail", f"{name} can be written",
                  f"{name} is read-only for the connected user, so ThankView cannot link engagement to Contacts. "
                  "Ask your Salesforce admin to give the “ThankView Integration” permission set Edit access to it.",
                  guide_anchor=PERMISSION_SETS_ANCHOR)
            problems.append((name, f"{name} is read-only for the connected user (field-level security)."))
        else:
            problems += _read_only_item(c, f"access:{name}", f"{name} can be written", f)
    return problems


def _check_blank_sources(c: Checklist, by_name: dict, mappings) -> None:
    """A required field mapped to a source that is blank for some sends: those sends are not
    synced (values.py), so say it before they pile up."""
    for m in mappings:
        f = by_name.get(m.target_field.lower())
        blank = m.source in CAN_BE_BLANK or (m.source == "constant" and not (m.constant_value or "").strip())
        if f is None or read_only(f) or not must_have_value(f) or not blank:
            continue
        c.add(f"blank:{f['name']}", "warn", f"{f['name']} always has a value",
              f"Salesforce requires {f['name']}, but its source ({m.get_source_display()}) can be blank: sends "
              f"without one are not synced. Map a source that is always filled, or ask your Salesforce admin to make "
              f"{f['name']} optional.")


def _check_required(c: Checklist, describe: dict, mappings, connection) -> list[str]:
    """The fields Salesforce requires on create that nothing fills; returns their names.
    A Text Name is filled by the sync (campaign and recipient)."""
    mapped = {m.target_field.lower() for m in mappings}
    for f in describe.get("fields", []):
        if is_text_name(f) and is_required_on_create(f):
            c.add("name", "ok", f"{f['name']} is a Text field: ThankView fills it with the campaign and the recipient")
    required = [
        f["name"] for f in describe.get("fields", [])
        if is_required_on_create(f) and f["name"].lower() not in mapped and f["name"] not in SYNC_OWNED
        and f["name"].lower() != connection.contact_lookup_field.lower() and not is_text_name(f)
    ]
    if not required:
        c.add("required", "ok", "Every field Salesforce requires has a mapping")
        return required
    for name in required:
        c.add(f"required:{name}", "fail", f"Required field {name} has a mapping",
              f"Salesforce requires {name} but ThankView isn't sending it. Add a mapping for it below, "
              "or ask your Salesforce admin to make it optional.")
    c.summary["required_unmapped"] = required
    return required


def _check_portal_fields(c: Checklist) -> None:
    if c.summary["portal_fields_present"]:
        c.add("portal_fields", "ok", "Portal_Id__c and Portal_Name__c are present (filled with this portal's id and name)")
    else:
        c.add("portal_fields", "info", "Portal_Id__c / Portal_Name__c are not present",
              "Optional: add them if your organization uses several ThankView portals.")


def _check_send_id(c: Checklist, by_name: dict) -> None:
    if c.summary["send_id_external"]:
        c.add("send_id", "ok", "Send_Id__c is an External ID (writes are idempotent upserts)")
    elif "send_id__c" in by_name:
        c.add("send_id", "warn", "Send_Id__c exists but is not an External ID",
              "Mark it “External ID” and “Unique” in Salesforce so ThankView can upsert by it.")
    else:
        c.add("send_id", "info", "Send_Id__c External ID is not present",
              "Optional: with it, ThankView upserts by send id; without it ThankView still prevents duplicates.")


def _mapping_problem(problems: list[tuple[str, str]], required: list[str]) -> tuple[str, str, str, list[str]]:
    """The mapping banner for the checklist's problems: the first one's text, every field.
    A lone missing required field is REQUIRED_FIELD_MISSING, anything else INVALID_FIELD."""
    fields = [name for name, _ in problems]
    only_required = bool(required) and problems[-1][0] == required[0] and len(problems) == 1
    code = "REQUIRED_FIELD_MISSING" if only_required else "INVALID_FIELD"
    return ("mapping", code, problems[0][1], fields)
