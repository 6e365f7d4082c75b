"""Tokens are encrypted at rest, and the encryption keys can rotate."""

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.db import connection as db

from integrations.models import SalesforceConnection
from integrations.salesforce import crypto


def _raw(pk):
    with db.cursor() as cur:
        cur.execute(
            "SELECT access_token_enc, refresh_token_enc FROM integrations_salesforceconnection WHERE id = %s", [pk]
        )
        return cur.fetchone()


@pytest.mark.django_db
def test_database_holds_ciphertext_not_the_token(portal_a):
    conn = SalesforceConnection(portal=portal_a)
    conn.access_token = "00Dxx0000001gPL!AQ-secret-access"
    conn.refresh_token = "5Aep861-secret-refresh"
    conn.save()
    raw_access, raw_refresh = _raw(conn.pk)
    assert "secret" not in raw_access and "secret" not in raw_refresh
    fresh = SalesforceConnection.objects.get(pk=conn.pk)
    assert fresh.access_token == "00Dxx0000001gPL!AQ-secret-access"
    assert fresh.refresh_token == "5Aep861-secret-refresh"


@pytest.mark.django_db
def test_key_rotation_old_tokens_still_decrypt_and_rotate_to_new_key(portal_a, settings):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    conn = SalesforceConnection(portal=portal_a)
    conn.refresh_token = "refresh-under-old-key"
    conn.save()

    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    conn = SalesforceConnection.objects.get(pk=conn.pk)
    assert conn.refresh_token == "refresh-under-old-key"  # old key still decrypts
    rotated = crypto.rotate(conn.refresh_token_enc)
    assert Fernet(new_key.encode()).decrypt(rotated.encode()) == b"refresh-under-old-key"

    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # old key retired
    assert crypto.decrypt(rotated) == "refresh-under-old-key"
    with pytest.raises(InvalidToken):
        crypto.decrypt(conn.refresh_token_enc)


def test_empty_token_stays_empty():
    assert crypto.encrypt("") == "" and crypto.decrypt("") == ""


@pytest.mark.django_db
def test_rotate_command_reencrypts_every_stored_token(portal_a, portal_b, settings):
    from django.core.management import call_command

    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    for portal in (portal_a, portal_b):
        c = SalesforceConnection(portal=portal)
        c.access_token, c.refresh_token = f"access-{portal.slug}", f"refresh-{portal.slug}"
        c.save()
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("rotate_salesforce_tokens")
    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key is gone; tokens still readable
    for portal in (portal_a, portal_b):
        c = SalesforceConnection.objects.get(portal=portal)
        assert (c.access_token, c.refresh_token) == (f"access-{portal.slug}", f"refresh-{portal.slug}")
