"""One login for the whole site, so one lockout.

Django admin's own login form would be a second door without allauth's rate limits
(``ACCOUNT_RATE_LIMITS``: failed logins per account and per IP, then a lockout). Its URL
therefore sends people to allauth's login page, keeping ``next``; staff come back to the
admin, and a signed-in user who is not staff is refused rather than sent round in a loop.
Every failed login, on any form, is logged with the account tried and the client address.
"""

import logging

from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.shortcuts import redirect, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

logger = logging.getLogger("thankview.security")


def admin_login(request):
    """``/admin/login/``: allauth's login, or back to the admin for signed-in staff."""
    next_url = request.GET.get("next") or "/admin/"
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        next_url = "/admin/"
    if request.user.is_authenticated:
        if request.user.is_active and request.user.is_staff:
            return redirect(next_url)
        raise PermissionDenied("This account has no access to the admin.")
    return redirect(f"{resolve_url('account_login')}?{urlencode({'next': next_url})}")


@receiver(user_login_failed, dispatch_uid="thankview.log_failed_login")
def log_failed_login(sender, credentials, request=None, **kwargs):
    account = str(credentials.get("email") or credentials.get("username") or "")[:254]
    if request is None:
        logger.warning("failed login for %r", account)
        return
    next_url = request.GET.get("next") or (request.POST.get("next") if request.method == "POST" else "") or ""
    where = "admin login" if next_url.startswith("/admin/") or request.path.startswith("/admin/") else "login"
    logger.warning("failed %s for %r from %s", where, account, request.META.get("REMOTE_ADDR", ""))
