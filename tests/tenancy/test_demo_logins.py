"""The demo's two logins: the customer's admin (portal pages only) and ThankView support
(Django admin only), as in production; and the favicon every page links."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from thankview.management.commands.seed_demo import DEMO_EMAIL, DEMO_PASSWORD, SUPPORT_EMAIL
from thankview.models import Membership

pytestmark = pytest.mark.django_db


def _login(client, email):
    response = client.post("/accounts/login/", {"login": email, "password": DEMO_PASSWORD})
    assert response.status_code == 302, response.content[:500]


def test_demo_admin_uses_the_portal_and_support_uses_django_admin(client):
    call_command("seed_demo", verbosity=0, stdout=open("/dev/null", "w"))
    User = get_user_model()
    admin, support = User.objects.get(email=DEMO_EMAIL), User.objects.get(email=SUPPORT_EMAIL)
    assert (admin.is_staff, support.is_staff, support.is_superuser) == (False, True, True)
    assert not Membership.objects.filter(user=support).exists()  # support is in no portal

    _login(client, DEMO_EMAIL)
    assert client.get("/demo/contacts/").status_code == 200
    assert client.get("/admin/").status_code == 302  # to the admin login: not staff
    client.logout()

    _login(client, SUPPORT_EMAIL)
    assert client.get("/admin/").status_code == 200
    assert client.get("/demo/contacts/").status_code == 404  # not a member of the portal


def test_seeding_again_keeps_a_changed_support_password(client):
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    support = get_user_model().objects.get(email=SUPPORT_EMAIL)
    support.set_password("changed-by-support-1")
    support.save()
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    support.refresh_from_db()
    assert support.check_password("changed-by-support-1")


def test_favicon_is_linked_and_the_ico_path_redirects_to_it(client):
    response = client.get("/favicon.ico")
    assert (response.status_code, response["Location"]) == (301, "/static/favicon.svg")
    page = client.get("/accounts/login/").content.decode()
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page
