"""Factories for tenancy. Each app adds its own in tests/<app>/factories.py."""

import factory
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model

from thankview.models import Membership, Portal

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    username = factory.LazyAttribute(lambda o: o.email)
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def verified_email(obj, create, extracted, **kwargs):
        if create:
            obj.save()
            EmailAddress.objects.create(user=obj, email=obj.email, primary=True, verified=True)


class PortalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Portal
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Portal {n}")
    slug = factory.Sequence(lambda n: f"portal-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    portal = factory.SubFactory(PortalFactory)
    role = Membership.Role.STAFF
