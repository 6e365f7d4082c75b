"""Public, token-bound recipient endpoints and webhooks (no login)."""

from django.urls import path

app_name = "engagement_public"

urlpatterns = []
