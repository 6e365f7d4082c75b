"""`make run` twice: `seed_demo` keeps what the user did, and the simulator still seeds when two
contacts share a Donor ID."""

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

import integrations.demo
from contacts.models import Contact
from contacts.services import contact_import_csv, contact_update
from engagement.models import Campaign
from sfsim.control import SimControl
from thankview.models import Portal

ROOT = Path(__file__).resolve().parents[2]
DEMO_EMAIL = "admin@demo.thankview.local"


def seed_demo():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def start_simulator(tmp_path, seed_file):
    """`python -m sfsim --seed FILE` as the Procfile runs it; its start-up lines and a control client."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "sfsim", "--port", "0", "--cert-dir", str(tmp_path / "certs"), "--seed", str(seed_file)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines = []
    while not lines or not lines[-1].startswith("CA bundle:"):
        line = proc.stdout.readline()
        assert line, "the simulator stopped while seeding:\n" + "".join(lines)
        lines.append(line)
    url = next(ln for ln in lines if ln.startswith("sfsim listening on ")).split()[-1]
    return proc, lines, SimControl(url, lines[-1].split(": ", 1)[1].strip())


@pytest.fixture
def demo_org_file(tmp_path, monkeypatch, settings):
    settings.SALESFORCE_USES_SIMULATOR = True
    path = tmp_path / "demo-org.json"
    monkeypatch.setattr(integrations.demo, "DEMO_ORG_FILE", path)
    return path


@pytest.mark.django_db
def test_second_seed_keeps_edits_and_the_simulator_seeds_a_shared_donor_id(demo_org_file, tmp_path):
    seed_demo()
    portal = Portal.objects.get(slug="demo")
    assert Contact.objects.filter(portal=portal).count() == 60
    assert Campaign.objects.filter(portal=portal).count() == 1

    # What a user does between two `make run`s: rename the portal, change the password,
    # correct a contact, and import a contact whose Donor ID another contact already has.
    portal.name = "Demo College"
    portal.save()
    admin = portal.memberships.get(user__email=DEMO_EMAIL).user
    admin.set_password("a-new-password-42")
    admin.save()
    olivia = Contact.objects.get(portal=portal, email="olivia.anderson0@example.org")
    contact_update(contact=olivia, first_name="Liv", donor_id="")
    holder = Contact.objects.get(portal=portal, email="liam.johnson1@example.org")
    assert holder.donor_id_check.object == "Contact"
    csv = f"email,first_name,last_name,donor_id\nnew.donor@example.org,New,Donor,{holder.donor_id}\n"
    result = contact_import_csv(portal=portal, data=csv.encode())
    assert result.created == 1 and result.errors == []
    assert [(w.line, w.email) for w in result.warnings] == [(2, "new.donor@example.org")]
    assert result.warnings[0].message == (
        f"Donor ID {holder.donor_id} is already used by liam.johnson1@example.org: "
        "both contacts will match the same Salesforce record."
    )

    out = seed_demo()

    portal.refresh_from_db()
    olivia.refresh_from_db()
    admin.refresh_from_db()
    assert portal.name == "Demo College"
    assert admin.check_password("a-new-password-42")
    assert (olivia.first_name, olivia.donor_id) == ("Liv", "")
    assert Contact.objects.filter(portal=portal).count() == 61
    assert Campaign.objects.filter(portal=portal).count() == 1
    assert "warning: skipped new.donor@example.org" in out

    # The simulator starts from the file the second seed wrote, with the shared ID once.
    org = json.loads(demo_org_file.read_text())
    holder_id = holder.donor_id_check.id18
    assert [r["Id"] for r in org["Contact"] if r.get("Id") == holder_id] == [holder_id]
    proc, lines, control = start_simulator(tmp_path, demo_org_file)
    try:
        assert f"Seeded {len(org['Contact'])} Contact record(s) from {demo_org_file}\n" in lines
        assert f"Seeded {len(org['Lead'])} Lead record(s) from {demo_org_file}\n" in lines
        contacts = control.records("Contact")
        assert len(contacts) == len(org["Contact"])
        assert [c["Email"] for c in contacts if c["Id"] == holder_id] == ["liam.johnson1@example.org"]
    finally:
        proc.terminate()
        assert proc.wait(10) == 0


def test_the_simulator_skips_a_repeated_id_in_its_seed_file_with_a_warning(tmp_path):
    contact_id = "003RO0000035WQgYAM"
    seed = {"Contact": [
        {"Id": contact_id, "LastName": "First", "Email": "first@example.org"},
        {"Id": contact_id[:15], "LastName": "Second", "Email": "second@example.org"},
        {"LastName": "Third", "Email": "third@example.org"},
    ]}
    seed_file = tmp_path / "org.json"
    seed_file.write_text(json.dumps(seed))
    proc, lines, control = start_simulator(tmp_path, seed_file)
    try:
        assert lines[:2] == [
            f"Warning: skipped Contact record 2 of {seed_file}: Id {contact_id[:15]} is already seeded\n",
            f"Seeded 2 Contact record(s) from {seed_file}\n",
        ]
        assert sorted(c["Email"] for c in control.records("Contact")) == ["first@example.org", "third@example.org"]
    finally:
        proc.terminate()
        assert proc.wait(10) == 0
