"""The fixed OAuth callback shared by all portals (the portal comes from the stored state)."""

from django.urls import path

from . import views

urlpatterns = [
    path("integrations/salesforce/callback/", views.salesforce_callback, name="salesforce_callback"),
]
