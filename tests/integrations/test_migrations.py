"""A database migrated to the old head of the integrations app (its fourth migration recorded
under its first name, ``0004_scale_ops``) migrates forward to today's code without losing a row
or a value, and its recorded migration state is consistent afterwards."""

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder

OLD_NAME = ("integrations", "0004_scale_ops")
NEW_NAME = ("integrations", "0004_api_budget_bulk_jobs_resync")
AT = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def _populate(apps):
    """One row in each integrations table (and the rows they point to), via the models as they
    were at the old head."""
    get = apps.get_model
    user = get(*settings.AUTH_USER_MODEL.split(".")).objects.create(username="support", email="support@thankview.example")
    portal = get("thankview", "Portal").objects.create(name="Old Portal", slug="old-portal")
    contact = get("contacts", "Contact").objects.create(
        portal=portal, email="Jane@X.org", email_normalized="jane@x.org", donor_id="003RO0000035WQgYAM"
    )
    campaign = get("engagement", "Campaign").objects.create(
        portal=portal, name="Spring Gala", video_url="https://videos.example.org/gala.mp4"
    )
    send = get("engagement", "Send").objects.create(campaign=campaign, contact=contact, sent_at=AT, token="tok-old-1")
    get("integrations", "SalesforceConnection").objects.create(
        portal=portal, status="connected", org_id="00DRO000000AbCdEFG", instance_url="https://old.my.salesforce.com",
        access_token_enc="ciphertext-a", refresh_token_enc="ciphertext-r", sync_enabled=True, sync_enabled_at=AT,
        error_kind="mapping", error_code="INVALID_FIELD", error_detail={"fields": ["Views__c"]},
        api_limits={"DailyApiRequests": {"Max": 15000, "Remaining": 14000}}, api_cap_percent=35,
    )
    get("integrations", "FieldMapping").objects.create(portal=portal, target_field="Gift_Note__c", source="constant", constant_value="thanks")
    run = get("integrations", "SyncRun").objects.create(
        portal=portal, org_id="00DRO000000AbCdEFG", cutoff=AT, outcome="api_cap", created=7, api_calls=12
    )
    get("integrations", "SalesforceRecord").objects.create(
        send=send, portal=portal, org_id="00DRO000000AbCdEFG", status="synced", record_id="a01RO00000AbCdEFGH",
        match_method="email_contact", contact_id="003RO0000035WQgYAM", last_synced_cutoff=AT, attempts=2,
    )
    get("integrations", "BulkJob").objects.create(
        run=run, portal=portal, org_id="00DRO000000AbCdEFG", job_id="750RO00000AbCdEFGH", operation="upsert",
        rows=3000, state="JobComplete", processed=3000, failed=4, settled=True,
    )
    get("integrations", "ResyncRequest").objects.create(
        portal=portal, campaign=campaign, org_id="00DRO000000AbCdEFG", requested_at=AT, requested_by=user, total=1
    )


def _rows(tables, columns=None):
    """{table: (columns, rows ordered by id)}; with ``columns``, only those columns are read."""
    out = {}
    with connection.cursor() as cursor:
        for table in tables:
            cols = columns[table][0] if columns else None
            select = ", ".join(connection.ops.quote_name(c) for c in cols) if cols else "*"
            cursor.execute(f"SELECT {select} FROM {connection.ops.quote_name(table)} ORDER BY id")
            out[table] = ([c.name for c in cursor.description], cursor.fetchall())
    return out


def _migrate(*args):
    out = StringIO()
    call_command(*args, stdout=out, verbosity=1)
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_database_at_the_old_head_migrates_forward_without_data_loss():
    recorder = MigrationRecorder(connection)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())  # latest everywhere
    try:
        # The schema as the old code left it: back to the old head of integrations.
        executor = MigrationExecutor(connection)
        executor.migrate([NEW_NAME])
        old_apps = executor.loader.project_state([NEW_NAME]).apps
        _populate(old_apps)
        tables = sorted(m._meta.db_table for m in old_apps.get_app_config("integrations").get_models())
        before = _rows(tables)
        assert {t: len(rows) for t, (_, rows) in before.items()} == dict.fromkeys(tables, 1)

        # django_migrations as an old database has it: the fourth migration under its first name.
        recorder.migration_qs.filter(app=NEW_NAME[0], name=NEW_NAME[1]).delete()
        recorder.record_applied(*OLD_NAME)

        _migrate("migrate", "--noinput")

        applied = recorder.applied_migrations()
        assert NEW_NAME in applied
        executor = MigrationExecutor(connection)
        executor.loader.check_consistent_history(connection)
        assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []
        plan = _migrate("showmigrations", "--plan")
        assert "[ ]" not in plan and f"[X]  {NEW_NAME[0]}.{NEW_NAME[1]}" in plan
        assert _migrate("makemigrations", "--check", "--dry-run").strip() == "No changes detected"

        # Every row and every value is still there, read column by column as before.
        assert _rows(tables, columns=before) == before
        _assert_current_models_read_the_rows()
    finally:
        # Leave the schema and the migration records as every other test expects them.
        _migrate("migrate", "--noinput")
        recorder.migration_qs.filter(app=OLD_NAME[0], name=OLD_NAME[1]).delete()


def _assert_current_models_read_the_rows():
    from integrations.models import (
        BulkJob,
        FieldMapping,
        ResyncRequest,
        SalesforceConnection,
        SalesforceRecord,
        SyncRun,
    )

    conn = SalesforceConnection.objects.get()
    assert (conn.portal.slug, conn.status, conn.org_id, conn.sync_enabled_at) == ("old-portal", "connected", "00DRO000000AbCdEFG", AT)
    assert (conn.access_token_enc, conn.refresh_token_enc) == ("ciphertext-a", "ciphertext-r")
    assert (conn.error_kind, conn.error_code, conn.error_detail) == ("mapping", "INVALID_FIELD", {"fields": ["Views__c"]})
    assert (conn.api_limits, conn.api_cap_percent) == ({"DailyApiRequests": {"Max": 15000, "Remaining": 14000}}, 35)
    mapping = FieldMapping.objects.get()
    assert (mapping.target_field, mapping.source, mapping.constant_value) == ("Gift_Note__c", "constant", "thanks")
    run = SyncRun.objects.get()
    assert (run.cutoff, run.outcome, run.created, run.api_calls) == (AT, "api_cap", 7, 12)
    record = SalesforceRecord.objects.get()
    assert (record.send.token, record.status, record.record_id, record.match_method, record.attempts) == (
        "tok-old-1", "synced", "a01RO00000AbCdEFGH", "email_contact", 2
    )
    job = BulkJob.objects.get()
    assert (job.run_id, job.job_id, job.operation, job.rows, job.failed, job.settled) == (
        run.pk, "750RO00000AbCdEFGH", "upsert", 3000, 4, True
    )
    resync = ResyncRequest.objects.get()
    assert (resync.campaign.name, resync.requested_by.username, resync.requested_at, resync.total) == (
        "Spring Gala", "support", AT, 1
    )
