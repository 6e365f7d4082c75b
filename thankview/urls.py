"""URL map. Site-wide prefixes come first; everything else is ``/<portal_slug>/...``.

A portal slug can never shadow a site prefix: the slugs in
``thankview.models.RESERVED_SLUGS`` are refused when a portal is created.
"""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from . import views

portal_patterns = [
    path("", views.portal_home, name="portal_home"),
    path("", include("contacts.urls")),
    path("", include("engagement.urls")),
]

urlpatterns = [
    # Browsers ask for /favicon.ico whatever the page links; answer with the SVG icon.
    path("favicon.ico", views.favicon),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("engagement.public_urls")),
    # The Salesforce OAuth callback and the portal's Salesforce pages (under /<portal_slug>/).
    path("", include("integrations.salesforce.urls")),
    path("", views.home, name="home"),
    path("<slug:portal_slug>/", include(portal_patterns)),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns = static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT) + urlpatterns
