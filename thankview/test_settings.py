"""Settings for the test suite: the production settings module with test defaults.

Tests run against real PostgreSQL and Redis (see README), so the defaults below point
at the local servers; CI and developers can override them through the environment.
"""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-not-for-any-deployment-0123456789")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/thankview")
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "3IsmgnvSfCwc6cxc6hEiJlHLI6HC2ksiUNbMD6N_UtQ=")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SESSION_COOKIE_SECURE", "false")
os.environ.setdefault("CSRF_COOKIE_SECURE", "false")
os.environ.setdefault("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# Playwright's sync API runs an event loop in the test thread; Django's ORM refuses to
# run beside one unless told this is deliberate (the test thread is not async code).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from .settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
# Eager by default; the real-worker tests start worker/beat subprocesses with this set to false.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", True)  # noqa: F405
CELERY_TASK_EAGER_PROPAGATES = True
MEDIA_ROOT = BASE_DIR / ".pytest_media"  # noqa: F405
