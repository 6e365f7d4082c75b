"""The one definition of a valid Donor ID: table tests from the guide and the reference,
and properties (Hypothesis) for the conversions."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contacts import salesforce_ids as ids

# Real IDs from Salesforce documentation and tests (docs/salesforce-behaviour.md §4).
REAL_18 = ["001D000000IRFmaIAH", "003RO0000035WQgYAM", "a011s00000DML8XAAX", "00Di0000000icUBEAY"]


@pytest.mark.parametrize("id18", REAL_18)
def test_checksum_of_real_ids(id18):
    assert ids.checksum_suffix(id18[:15]) == id18[15:]
    assert ids.has_valid_checksum(id18)
    assert ids.to_18(id18[:15]) == id18


def test_worked_example_from_reference():
    assert ids.to_18("001D000000IRFma") == "001D000000IRFmaIAH"


@pytest.mark.parametrize(
    "value, ok, obj, reason",
    [
        ("1004422", False, None, "numeric"),  # the guide's invalid example
        ("100442200000000", False, None, "numeric"),  # numeric even at the right length
        ("003RO0000035WQgYAM", True, "Contact", None),  # a real 003 Contact ID, 18 chars
        ("003RO0000035WQg", True, "Contact", None),  # and its 15-char form
        ("00QRO0000035WQg", True, "Lead", None),
        ("001D000000IRFmaIAH", False, None, "prefix"),  # an Account ID
        ("a011s00000DML8XAAX", False, None, "prefix"),  # a custom object
        ("003RO0000035", False, None, "length"),
        ("003RO0000035WQgYA", False, None, "length"),
        ("003RO0000035WQgYAMX", False, None, "length"),
        ("003RO-000035WQg", False, None, "characters"),
        ("003RO 000035WQg", False, None, "characters"),
        ("003RÖ0000035WQg", False, None, "characters"),  # letters are ASCII only
        ("003ro0000035wqgyam", False, None, "checksum"),  # lower-cased by a spreadsheet
        ("003RO0000035WQgYAA", False, None, "checksum"),  # wrong suffix
    ],
)
def test_check_table(value, ok, obj, reason):
    verdict = ids.check(value)
    assert (verdict.ok, verdict.object, verdict.reason) == (ok, obj, reason)
    assert verdict.value == value
    assert verdict.message
    if ok:
        assert verdict.id18 == ids.to_18(value)
    else:
        assert verdict.id18 is None


def test_messages_say_why():
    assert ids.check("1004422").message.startswith("Numeric-only IDs like 1004422 are not Salesforce IDs")
    assert ids.check("001D000000IRFmaIAH").message == (
        "Starts with 001, which is an Account ID, not a Contact ID (003…)."
    )
    assert "15 or 18 characters" in ids.check("003RO0000035").message
    mangled = ids.check("003ro0000035wqgyam")
    assert mangled.repaired == "003RO0000035WQgYAM"
    assert mangled.message == (
        "The last 3 characters don't match the ID's capitalisation; it may have been changed by a "
        "spreadsheet. Did you mean 003RO0000035WQgYAM?"
    )


def test_blank_is_not_an_error_and_spaces_are_trimmed():
    blank = ids.check("   ")
    assert (blank.ok, blank.reason, blank.value, blank.is_blank) == (False, None, "", True)
    assert ids.check(None).is_blank
    assert ids.check("  003RO0000035WQgYAM ").ok


def test_repair_is_not_offered_when_it_would_not_be_a_contact():
    verdict = ids.check("001d000000irfmaiah")  # a mangled Account ID: repairable, but still wrong
    assert verdict.reason == "checksum" and verdict.repaired is None
    assert ids.repair_case("001d000000irfmaiah") == "001D000000IRFmaIAH"


def test_inconsistent_suffix_cannot_be_repaired():
    # Suffix "B" sets bit 0 of the first chunk, whose first character is the digit 0.
    assert ids.repair_case("003ro0000035wqgBAM") is None
    assert ids.check("003ro0000035wqgBAM").repaired is None


@pytest.mark.parametrize("bad", ["", "1004422", "003RO0000035WQg!", "003RO0000035WQgYAA", "x" * 16])
def test_to_18_refuses_bad_format(bad):
    with pytest.raises(ValueError):
        ids.to_18(bad)


def test_object_for():
    assert ids.object_for("003RO0000035WQg") == "Contact"
    assert ids.object_for("00QRO0000035WQg") == "Lead"
    assert ids.object_for("00qRO0000035WQg") is None
    assert ids.object_for("001D000000IRFma") is None
    assert ids.object_for("") is None


ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
id15s = st.text(alphabet=ALNUM, min_size=15, max_size=15).filter(lambda s: not s.isdigit())
contact_id15s = st.text(alphabet=ALNUM, min_size=12, max_size=12).map(lambda s: "003" + s).filter(
    lambda s: not s.isdigit()
)


@given(id15s)
def test_15_to_18_to_15_round_trip(id15):
    id18 = ids.to_18(id15)
    assert len(id18) == 18 and id18[:15] == id15
    assert ids.has_valid_checksum(id18)
    assert ids.to_18(id18) == id18


@given(id15s, st.data())
def test_repair_restores_any_case_mangling(id15, data):
    id18 = ids.to_18(id15)
    flips = data.draw(st.lists(st.booleans(), min_size=18, max_size=18))
    mangled = "".join(ch.swapcase() if flip else ch for ch, flip in zip(id18, flips))
    assert ids.repair_case(mangled) == id18
    assert ids.repair_case(id18.lower()) == id18
    assert ids.repair_case(id18.upper()) == id18


@given(contact_id15s, st.sampled_from([str.lower, str.upper]))
def test_mangled_contact_id_is_refused_with_the_original_offered(id15, mangle):
    id18 = ids.to_18(id15)
    mangled = mangle(id18)
    verdict = ids.check(mangled)
    if mangled == id18:  # nothing to mangle (e.g. all digits after the prefix)
        assert verdict.ok
    else:
        assert verdict.reason == "checksum" and verdict.repaired == id18
        assert ids.check(verdict.repaired).ok


@given(st.text(max_size=30))
def test_check_never_raises_and_ok_means_well_formed(value):
    verdict = ids.check(value)
    if verdict.ok:
        assert len(verdict.value) in (15, 18)
        assert verdict.object in ("Contact", "Lead")
        assert ids.has_valid_checksum(verdict.id18)
    elif not verdict.is_blank:
        assert verdict.reason in ids.REASONS
