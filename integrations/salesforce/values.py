"""Values that fit the org: each send's field values checked against describe before a write.

What ``ThankView__c`` accepts is the customer's org's business, not ours: a field may be
shorter than the guide's, made read-only by field-level security, or required. The
pre-flight's describe (``schema_cache``, ``schema.summarize``) says which, and ``fit`` applies
it to one record's values, so Salesforce never refuses a record the same way on every run:

1. a field the connected user may not write (describe ``createable`` on create,
   ``updateable`` on update false) is left out; the checklist warns about it by name
   (``schema.py``), or stops the run when the field is required;
2. ``""`` is sent as null: Salesforce stores an empty text as null (Object Reference,
   "Required Fields": a required field must have a non-null value), and Bulk API 2.0 needs
   null spelled ``#N/A`` to clear a field on update ("Valid CSV Record Rows"), so both
   writers write the same record;
3. a blank (null or ``""``) value for a required field is never sent: the send is held
   back with ``BLANK_REQUIRED_CODE`` naming the field (``records.mark_blank_required``),
   and the other sends are written;
4. text longer than the field's describe ``length`` is cut to fit, and the send notes it:
   since API 15.0 Salesforce refuses it with STRING_TOO_LONG instead of truncating
   (SOAP API Developer Guide, "AllowFieldTruncationHeader").

``record_name`` is the readable Name of a record whose object has a required, createable
Text Name (an object created by hand in Setup; an Auto Number needs nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, field

BLANK_REQUIRED_CODE = "BLANK_REQUIRED_VALUE"
TEXT_TYPES = {"string", "textarea", "url", "email", "phone", "picklist", "encryptedstring"}


@dataclass
class Fitted:
    values: dict
    notes: list[str] = field(default_factory=list)  # e.g. "Text_Reply__c cut to 80 characters"
    blank_required: list[str] = field(default_factory=list)  # required fields whose value is blank
    left_out: list[str] = field(default_factory=list)  # read-only for the user


def field_infos(schema: dict) -> dict[str, dict]:
    """describe fields by lower-cased name (API names are case-insensitive)."""
    return {name.lower(): {"name": name, **info} for name, info in (schema or {}).get("fields", {}).items()}


def writable(info: dict, *, creating: bool) -> bool:
    return bool(info.get("createable") if creating else info.get("updateable"))


def required(info: dict, *, creating: bool) -> bool:
    """Salesforce refuses null here: on create a required-on-create field (``schema.summarize``),
    on update any non-nillable field (a required field cannot be set to null)."""
    if creating:
        return bool(info.get("required"))
    return not info.get("nillable", True) and info.get("type") != "boolean"


def fit(infos: dict[str, dict], values: dict, *, creating: bool) -> Fitted:
    """Steps 1–4 of the module docstring for one record's values."""
    out = Fitted(values={})
    for name, value in values.items():
        info = infos.get(name.lower())
        if info is None:  # not in describe: the checklist stops the run before any write
            out.values[name] = value
            continue
        if not writable(info, creating=creating):
            out.left_out.append(name)
            continue
        if value == "":
            value = None
        if value is None and required(info, creating=creating):
            out.blank_required.append(name)
            continue
        length = info.get("length") or 0
        if isinstance(value, str) and info.get("type") in TEXT_TYPES and length and len(value) > length:
            value = value[:length]
            out.notes.append(f"{name} cut to {length} characters")
        out.values[name] = value
    return out


def text_name_field(infos: dict[str, dict]) -> dict | None:
    """The object's Name when it is Text (not an Auto Number), required and createable."""
    name = infos.get("name")
    if (name and name.get("nameField", True) and name.get("type") == "string" and not name.get("autoNumber")
            and name.get("createable") and name.get("required")):
        return name
    return None


def record_name(campaign, contact, *, length: int) -> str:
    """"Spring Thank You - Jane Doe": the campaign and the recipient, cut to ``length``."""
    who = " ".join(p for p in (contact.first_name, contact.last_name) if p) or contact.email or f"contact {contact.pk}"
    return f"{campaign.name} - {who}"[: length or 80]
