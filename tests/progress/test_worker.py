"""A real Celery worker (a subprocess, as in `make run`) runs the import: the request hands
it only the job's id over the broker, and the worker reads the file from Django storage."""

import os
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from contacts.models import Contact, ContactImport
from contacts.tasks import import_contacts
from tests.workers import db_url, redis_broker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

BROKER = os.environ.get("PROGRESS_TEST_BROKER_URL") or redis_broker(5)
WAIT_SECONDS = 60


def test_a_real_worker_imports_an_uploaded_file(client_staff_a, portal_a, tmp_path):
    import redis

    redis.Redis.from_url(BROKER).flushdb()  # our own db number: no stale messages
    app = import_contacts.app
    saved = {"task_always_eager": app.conf.task_always_eager, "broker_url": app.conf.broker_url}
    _configure(app, task_always_eager=False, broker_url=BROKER)  # this process publishes for real
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="thankview.test_settings", DATABASE_URL=db_url(),
               CONN_MAX_AGE="0", CELERY_BROKER_URL=BROKER, CELERY_TASK_ALWAYS_EAGER="false")
    log = open(tmp_path / "worker.log", "w+")  # noqa: SIM115 - closed in the finally below, after the worker
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "thankview", "worker", "--pool=solo", "--without-gossip",
         "--without-mingle", "--loglevel=INFO"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=settings.BASE_DIR,
    )
    try:
        rows = "".join(f"w{i}@example.org,W{i}\n" for i in range(1200))
        upload = SimpleUploadedFile("donors.csv", ("Email,First Name\n" + rows + "nope\n").encode())
        response = client_staff_a.post("/alpha/contacts/import/", {"file": upload})
        job = ContactImport.objects.get()
        assert response.status_code == 302 and response["Location"] == f"/alpha/contacts/imports/{job.pk}/"
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            assert worker.poll() is None, _dump(log)
            job.refresh_from_db()
            if job.is_finished:
                break
            time.sleep(0.3)
        assert job.status == "done", f"{job.status} {job.error}\n" + _dump(log)
        assert (job.created, job.rejected, job.total_rows) == (1200, 1, 1201)
        assert Contact.objects.filter(portal=portal_a).count() == 1200
        data = client_staff_a.get(f"/alpha/contacts/imports/{job.pk}/status.json").json()
        assert data["label"] == "Import finished: imported 1200, updated 0, rejected 1 of 1201 rows."
        assert "Task contacts.tasks.import_contacts" in _dump(log)
    finally:
        _configure(app, **saved)
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=5)
        log.close()


def _configure(app, **conf):
    """Change the app's broker for this test; the producer pool is bound to the broker it
    was created with, so it is dropped too (what Celery itself does after a fork)."""
    app.conf.update(conf)
    app._pool = None
    if "amqp" in app.__dict__:
        app.amqp._producer_pool = None
    assert app.connection_for_write().as_uri().startswith(conf["broker_url"].split(":", 1)[0])


def _dump(log):
    log.flush()
    log.seek(0)
    return log.read()[-4000:]
