"""Django admin's history (``LogEntry``) of support's actions, written by the services in
``support.py`` so that the admin actions and ``manage.py salesforce`` log the same way.

The portal sees its own side of the same action as a ``SupportEvent`` line on Sync health;
this is support's side, with who did it ("Sync paused by support@…").
"""

from __future__ import annotations

from django.contrib.admin.models import CHANGE, LogEntry


def actor_name(by) -> str:
    """How the history names a support person: their email, else their username."""
    return getattr(by, "email", "") or by.get_username()


def admin_history_record(*, obj, by, message: str) -> None:
    """One ``LogEntry`` (a change of ``obj``) with ``message``; nothing without a saved user
    (``LogEntry`` needs one; the commands ask for ``--by``)."""
    if not getattr(by, "pk", None):
        return
    LogEntry.objects.log_actions(
        user_id=by.pk, queryset=[obj], action_flag=CHANGE, change_message=message, single_object=True
    )
