"""One login lockout: the admin's login is allauth's, with the same rate limits, and every
failed login is logged."""

import logging

import pytest
from django.core.cache import cache
from django.test import Client

from tests.factories import PASSWORD, UserFactory


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def staff_user(db):
    return UserFactory(email="ops@thankview.example", is_staff=True, is_superuser=True)


def _admin_login(client, email, password):
    # What a person (or a script) does: open the admin's login URL and submit its form.
    response = client.get("/admin/login/?next=/admin/", follow=True)
    form_url = response.redirect_chain[-1][0]
    return client.post(form_url, {"login": email, "password": password, "next": "/admin/"})


def test_admin_login_is_allauths_login_and_brings_staff_back_to_the_admin(staff_user):
    client = Client()
    response = client.get("/admin/login/?next=/admin/integrations/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2Fintegrations%2F"
    response = _admin_login(client, staff_user.email, PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    # An outside next is not followed.
    assert Client().get("/admin/login/?next=https://evil.example/").headers["Location"] == "/accounts/login/?next=%2Fadmin%2F"


def test_admin_refuses_signed_in_users_who_are_not_staff(admin_a):
    client = Client()
    client.force_login(admin_a)
    response = client.get("/admin/", follow=True)
    assert response.status_code == 403
    assert [url for url, _ in response.redirect_chain] == ["/admin/login/?next=/admin/"]


def test_admin_login_locks_out_after_repeated_failures_and_logs_each(staff_user, caplog):
    caplog.set_level(logging.WARNING, logger="thankview.security")
    client = Client(REMOTE_ADDR="203.0.113.7")
    pages = [_admin_login(client, staff_user.email, f"wrong-{i}") for i in range(20)]
    assert [p.status_code for p in pages] == [200] * 20  # the form again, with its error
    locked = "Too many failed login attempts. Try again later."
    assert [locked in p.content.decode() for p in pages] == [False] * 5 + [True] * 15
    response = _admin_login(client, staff_user.email, PASSWORD)  # the right password, now
    assert response.status_code == 200 and locked in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302  # still not signed in
    failed = [r.getMessage() for r in caplog.records if r.name == "thankview.security"]
    assert failed[0] == "failed admin login for 'ops@thankview.example' from 203.0.113.7"
    assert len(failed) == 5  # each attempt that reached the password check


def test_the_posted_admin_form_is_no_second_door(staff_user):
    # Posting straight to /admin/login/ never checks a password (it only redirects).
    client = Client()
    response = client.post("/admin/login/", {"username": staff_user.email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session
