"""Operations that write tenancy data."""

from django.contrib.auth import get_user_model
from django.db import transaction

from .models import Membership, Portal
from .text import one_line


@transaction.atomic
def portal_create_or_update(*, slug, name, admin_email, admin_password=None):
    """Create (or update) a portal and make ``admin_email`` its admin. Idempotent.

    Re-running with the same slug renames the portal and resets the admin's password
    when one is given; it never creates a second portal, user or membership.
    Returns ``(portal, user, created)``.
    """
    portal, created = Portal.objects.update_or_create(slug=slug, defaults={"name": one_line(name)})
    portal.full_clean()
    user = _user_for_email(admin_email)
    if admin_password:
        user.set_password(admin_password)
    elif not user.pk:
        user.set_unusable_password()
    user.save()
    _ensure_allauth_email(user)
    Membership.objects.update_or_create(user=user, portal=portal, defaults={"role": Membership.Role.ADMIN})
    return portal, user, created


def _user_for_email(email):
    """The user with this email (in any case), or a new, unsaved one."""
    User = get_user_model()
    email = email.strip().lower()
    return User.objects.filter(email__iexact=email).first() or User(username=email[:150], email=email)


def _ensure_allauth_email(user):
    # allauth logs in by its EmailAddress rows; keep one, primary and verified.
    from allauth.account.models import EmailAddress

    EmailAddress.objects.update_or_create(
        user=user, email=user.email, defaults={"primary": True, "verified": True}
    )


@transaction.atomic
def support_user_ensure(*, email, password):
    """A ThankView support login for Django admin (staff, in no portal). Idempotent: an
    existing user keeps everything but gains staff access; the password is set only when
    the user is new, so a changed password survives."""
    user = _user_for_email(email)
    if user.pk is None:
        user.set_password(password)
    user.is_staff = user.is_superuser = True
    user.save()
    _ensure_allauth_email(user)
    return user


@transaction.atomic
def membership_add(*, portal, email, role, password=None):
    """Add a user (created when new) to a portal with a role. Idempotent."""
    user = _user_for_email(email)
    if user.pk is None:
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
    _ensure_allauth_email(user)
    membership, _ = Membership.objects.update_or_create(user=user, portal=portal, defaults={"role": role})
    return membership
