"""Exports are safe to open in a spreadsheet and never cached."""

import csv
import io

import pytest
from django.urls import reverse

from contacts.csv_io import safe_cell
from tests.contacts.factories import make_contact

EXPORT_URL = reverse("contacts:export", args=["alpha"])


@pytest.mark.parametrize(
    "value",
    [
        "=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1",
        " =1+1", "\u00a0=1+1", "\u200b=1+1", "\ufeff=1+1", "\u2060@x", "\u200b \u200c+1",
        "\uff1d1+1", "\uff0b1", "\uff0d1", "\uff20SUM(A1)", "\u3000\uff1d1+1",
    ],
)
def test_formula_variants_are_neutralised(value):
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["Ann", "O'Neil", "003RO0000035WQgYAM", "a=b", "\u200bAnn", "", "1-2"])
def test_plain_text_is_left_alone(value):
    assert safe_cell(value) == value


def test_export_neutralises_hidden_formulas_and_is_not_cached(client_staff_a, portal_a):
    make_contact(portal_a, email="zw@x.org", first_name="\u200b=1+1", last_name="\uff1d1+1", donor_id="\u200b@A1")
    response = client_staff_a.get(EXPORT_URL)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    content = b"".join(response.streaming_content).decode("utf-8")
    rows = list(csv.reader(io.StringIO(content[1:])))
    assert rows[1][:4] == ["zw@x.org", "'\u200b=1+1", "'\uff1d1+1", "'\u200b@A1"]
