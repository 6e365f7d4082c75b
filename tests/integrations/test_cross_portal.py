"""A user of portal B can neither start, finish, view nor disconnect portal A's connection."""

import pytest
from django.urls import reverse

from integrations.models import FieldMapping, SalesforceConnection

from .conftest import callback_path

pytestmark = pytest.mark.django_db

A_PAGES = [
    ("integrations:salesforce_settings", "get"),
    ("integrations:salesforce_connect", "post"),
    ("integrations:salesforce_disconnect", "get"),
    ("integrations:salesforce_disconnect", "post"),
    ("integrations:salesforce_check", "post"),
    ("integrations:mapping_add", "post"),
    ("integrations:sync_health", "get"),
]


@pytest.mark.parametrize("name,method", A_PAGES)
def test_portal_b_member_gets_404_on_portal_a_pages(client_b, connected_portal_a, name, method):
    url = reverse(name, args=[connected_portal_a.slug])
    resp = getattr(client_b, method)(url, {"environment": "production"} if method == "post" else None)
    assert resp.status_code == 404
    conn = SalesforceConnection.objects.get(portal=connected_portal_a)
    assert conn.has_tokens and conn.status == "connected"


def test_portal_b_member_cannot_edit_or_remove_portal_a_mappings(client_b, connected_portal_a):
    m = FieldMapping.objects.filter(portal=connected_portal_a).first()
    for name in ("integrations:mapping_edit", "integrations:mapping_remove"):
        assert client_b.post(reverse(name, args=[connected_portal_a.slug, m.pk]), {}).status_code == 404
    m.refresh_from_db()
    assert m.enabled


def test_portal_a_mapping_id_under_portal_b_slug_is_404(client_b, connected_portal_a, portal_b):
    m = FieldMapping.objects.filter(portal=connected_portal_a).first()
    url = reverse("integrations:mapping_remove", args=[portal_b.slug, m.pk])
    assert client_b.post(url).status_code == 404
    m.refresh_from_db()
    assert m.enabled


def test_replaying_portal_a_state_as_portal_b_user_is_refused(client_admin_a, client_b, portal_a, portal_b, sf_start, sf_authorize):
    callback = sf_authorize(sf_start(client_admin_a, portal_a))
    resp = client_b.get(callback_path(callback), follow=True)
    assert "unknown or was already used" in resp.content.decode()
    assert not SalesforceConnection.objects.filter(portal=portal_a).exists()
    assert not SalesforceConnection.objects.filter(portal=portal_b).exists()
    # The rightful user can still finish: B's attempt did not consume A's state.
    assert client_admin_a.get(callback_path(callback)).status_code == 302
    assert SalesforceConnection.objects.get(portal=portal_a).status == "connected"


def test_state_copied_into_another_users_session_is_refused(client_admin_a, client_b, portal_a, member_b, sf_start, sf_authorize):
    """Even with A's state planted in B's session (session fixation), the user must match."""
    from thankview.models import Membership

    Membership.objects.create(user=member_b, portal=portal_a, role="admin")
    callback = sf_authorize(sf_start(client_admin_a, portal_a))
    states = client_admin_a.session["salesforce_oauth_states"]
    session = client_b.session
    session["salesforce_oauth_states"] = states
    session.save()
    resp = client_b.get(callback_path(callback), follow=True)
    assert "started by another user" in resp.content.decode()
    assert not SalesforceConnection.objects.filter(portal=portal_a).exists()


def test_callback_requires_login(client, connected_portal_a):
    resp = client.get(reverse("salesforce_callback") + "?code=x&state=y")
    assert resp.status_code == 302 and "/accounts/login/" in resp["Location"]


def test_portal_b_banners_do_not_show_portal_a_errors(client_admin_a, client_b, connected_portal_a, portal_b, sim):
    sim.fault("api_disabled")
    client_admin_a.post(reverse("integrations:salesforce_check", args=[connected_portal_a.slug]))
    page = client_b.get(reverse("integrations:salesforce_settings", args=[portal_b.slug])).content.decode()
    assert "data-banner" not in page and "Not connected" in page
