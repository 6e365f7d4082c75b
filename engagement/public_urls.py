"""Public, token-bound recipient endpoints, the bounce webhook and the REST API (no login).

Mounted at ``/``; their first path segments (v, t, u, w, webhooks, api) are reserved slugs.
"""

from django.urls import include, path

from . import public_views as views
from .api import api

recipient_patterns = [
    path("t/<slug:token>/open.gif", views.open_pixel, name="open_pixel"),
    path("v/<slug:token>/", views.landing, name="landing"),
    path("v/<slug:token>/cta/", views.cta, name="cta"),
    path("v/<slug:token>/download/", views.download, name="download"),
    path("v/<slug:token>/share/", views.share, name="share"),
    path("v/<slug:token>/events/", views.page_events, name="events"),
    path("v/<slug:token>/reply/text/", views.text_reply, name="text_reply"),
    path("v/<slug:token>/reply/video/", views.video_reply, name="video_reply"),
    path("u/<slug:token>/", views.unsubscribe, name="unsubscribe"),
    path("w/<str:key>/", views.campaign_shared, name="shared"),
    path("webhooks/email/bounce", views.bounce_webhook, name="bounce_webhook"),
]

urlpatterns = [
    path("", include((recipient_patterns, "engagement_public"))),
    # The API keeps its own namespace ("api_v1"), which django-ninja reverses for its docs.
    path("api/v1/", api.urls),
]
