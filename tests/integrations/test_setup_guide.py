"""The admin setup guide the portal serves: salesforce/README.md rendered and sanitised, its
package as a ZIP, for members of the portal only, linked from the settings page."""

import io
import zipfile

import pytest
from django.urls import reverse

from integrations.salesforce import setup_guide


def test_members_read_the_guide_with_every_step(client_staff_a, portal_a):
    resp = client_staff_a.get(reverse("integrations:setup_guide", args=[portal_a.slug]))
    assert resp.status_code == 200
    page = resp.content.decode()
    assert "<h1>ThankView for Salesforce: setup for Salesforce admins</h1>" in page
    for anchor, heading in [
        ("1-deploy", "1. Deploy"),
        ("2-assign-the-permission-sets", "2. Assign the permission sets"),
        ("4-back-in-thankview", "4. Back in ThankView"),
    ]:
        assert f'<h2 id="{anchor}">{heading}</h2>' in page
        assert f'<a href="#{anchor}">{heading}</a>' in page
    assert '<div class="table-scroll"><table>' in page and "<pre><code" in page
    # The developers' section (test paths) is not for customers.
    assert "For developers" not in page and "tests/integrations" not in page


def test_the_checklist_anchors_exist_in_the_guide():
    anchors = {a for a, _ in setup_guide.guide().sections}
    assert {setup_guide.DEPLOY_ANCHOR, setup_guide.PERMISSION_SETS_ANCHOR} <= anchors


def test_raw_html_and_unsafe_links_in_the_markdown_are_not_rendered():
    guide = setup_guide.render(
        "# Title\n\n## Step\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) "
        '<img src=x onerror="alert(1)">\n\n[ok](https://help.salesforce.com)\n'
    )
    # Raw HTML stays text: no tag reaches the page.
    assert "<script" not in guide.html and "<img" not in guide.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in guide.html and "&lt;img src=x" in guide.html
    assert 'href="javascript' not in guide.html
    assert '<a href="https://help.salesforce.com" rel="noopener noreferrer">ok</a>' in guide.html
    assert guide.title == "Title" and "<h1" not in guide.html


def test_the_package_zip_holds_the_deployable_folder(client_admin_a, portal_a):
    resp = client_admin_a.get(reverse("integrations:setup_package", args=[portal_a.slug]))
    assert resp.status_code == 200 and resp["Content-Type"] == "application/zip"
    assert 'filename="thankview-salesforce-package.zip"' in resp["Content-Disposition"]
    names = set(zipfile.ZipFile(io.BytesIO(resp.content)).namelist())
    for name in [
        "salesforce/README.md",
        "salesforce/sfdx-project.json",
        "salesforce/manifest/package.xml",
        "salesforce/force-app/main/default/objects/ThankView__c/fields/Views__c.field-meta.xml",
        "salesforce/force-app/main/default/permissionsets/ThankView_Integration.permissionset-meta.xml",
    ]:
        assert name in names
    assert not [n for n in names if n.startswith(("salesforce/scripts/", "salesforce/.sf-cli/"))]


@pytest.mark.parametrize("name", ["integrations:setup_guide", "integrations:setup_package"])
def test_other_portals_and_visitors_cannot_read_it(client, client_b, portal_a, name):
    url = reverse(name, args=[portal_a.slug])
    assert client_b.get(url).status_code == 404
    resp = client.get(url)
    assert resp.status_code == 302 and "/accounts/login/" in resp["Location"]


def test_the_settings_page_links_the_guide_instead_of_commands(client_admin_a, connected_portal_a):
    page = client_admin_a.get(reverse("integrations:salesforce_settings", args=[connected_portal_a.slug])).content.decode()
    guide = reverse("integrations:setup_guide", args=[connected_portal_a.slug])
    assert f'<a href="{guide}" data-testid="setup-guide-link">Salesforce setup guide</a>' in page
    assert "sf project" not in page and "force-app" not in page and "<code>salesforce/</code>" not in page
