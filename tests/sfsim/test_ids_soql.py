"""Properties of the id checksum (§4) and of SOQL string literals (§5)."""

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sfsim import ids
from sfsim.org import Org
from sfsim.soql import SoqlError, parse, prepare

BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
id15s = st.text(alphabet=BASE62, min_size=15, max_size=15)


def test_checksum_of_real_ids():
    for real in ("001D000000IRFmaIAH", "003RO0000035WQgYAM", "a011s00000DML8XAAX", "00Di0000000icUBEAY"):
        assert ids.checksum(real[:15]) == real[15:]
        assert ids.to18(real[:15]) == real and ids.to18(real) == real


@given(id15s)
def test_to18_accepts_both_forms_and_rejects_case_mangled_ids(id15):
    full = ids.to18(id15)
    assert full[:15] == id15 and ids.to18(full) == full
    mangled = full.upper() if full.upper() != full else full.lower()
    if mangled[:15] != id15:
        assert ids.to18(mangled) is None


def test_id_factory_makes_unique_checksummed_ids_per_prefix():
    factory = ids.IdFactory()
    made = [factory.new("a0X") for _ in range(500)]
    assert len(set(made)) == 500
    assert all(i.startswith("a0X") and ids.to18(i) == i and any(c.isupper() for c in i[:15]) for i in made)


@given(st.text(alphabet=string.printable, max_size=40))
def test_string_literals_round_trip_with_escapes(value):
    quoted = "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    query = parse(f"SELECT Id FROM Contact WHERE LastName = {quoted}")
    assert query.where.values[0].value == value


def test_and_or_without_parentheses_is_malformed():
    with pytest.raises(SoqlError) as exc:
        prepare(Org(), "SELECT Id FROM Contact WHERE LastName = 'a' AND Email = 'b' OR Email = 'c'")
    assert exc.value.code == "MALFORMED_QUERY"
