import pytest
from django.core.management import call_command
from django.urls import reverse

from thankview.models import Membership, Portal


def test_login_page_has_no_signup_and_signup_is_closed(client, db):
    response = client.get(reverse("account_login"))
    assert response.status_code == 200
    assert b"sign up" not in response.content.lower()
    signup = client.get(reverse("account_signup"))
    assert signup.status_code == 200  # allauth's "Sign Up Closed" page
    assert b"Sign Up Closed" in signup.content


def test_user_logs_in_with_email_and_password(client, admin_a, password):
    response = client.post(reverse("account_login"), {"login": admin_a.email, "password": password})
    assert response.status_code == 302
    # One portal: home goes straight to it.
    home = client.get(reverse("home"))
    assert home.status_code == 302
    assert home["Location"] == "/alpha/"


def test_anonymous_user_is_sent_to_login(client, portal_a):
    response = client.get(reverse("portal_home", args=["alpha"]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_non_member_gets_404_for_another_portal(client_b, portal_a):
    assert client_b.get(reverse("portal_home", args=[portal_a.slug])).status_code == 404


def test_unknown_portal_is_the_same_404(client_b):
    assert client_b.get("/no-such-portal/").status_code == 404


def test_switcher_lists_only_own_portals(client_admin_a, admin_a, portal_b, db):
    from tests.factories import MembershipFactory, PortalFactory

    gamma = PortalFactory(name="Gamma College", slug="gamma")
    MembershipFactory(user=admin_a, portal=gamma)
    response = client_admin_a.get(reverse("home"))
    body = response.content.decode()
    assert "Alpha University" in body and "Gamma College" in body
    assert "Beta Hospital" not in body


def test_createportal_is_idempotent(db, capsys):
    args = ["acme", "--name", "Acme", "--admin-email", "Boss@Acme.org", "--admin-password", "pw-one-Long-1"]
    call_command("createportal", *args)
    call_command("createportal", "acme", "--name", "Acme Renamed", "--admin-email", "boss@acme.org",
                 "--admin-password", "pw-two-Long-2")
    assert Portal.objects.filter(slug="acme").count() == 1
    portal = Portal.objects.get(slug="acme")
    assert portal.name == "Acme Renamed"
    membership = Membership.objects.get(portal=portal)
    assert membership.role == "admin" and membership.user.email == "boss@acme.org"
    assert membership.user.check_password("pw-two-Long-2")
    out = capsys.readouterr().out
    assert "Created portal 'acme'" in out and "Updated portal 'acme'" in out


def test_createportal_refuses_reserved_slug(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="reserved"):
        call_command("createportal", "admin", "--name", "X", "--admin-email", "x@x.org")
    assert not Portal.objects.filter(slug="admin").exists()
