"""URL map. Site-wide prefixes come first; everything else is ``/<portal_slug>/...``.

A portal slug can never shadow a site prefix: the slugs in
``thankview.models.RESERVED_SLUGS`` are refused when a portal is created.
"""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from . import admin_login, views

portal_patterns = [
    path("", views.portal_home, name="portal_home"),
    path("settings/", views.portal_settings, name="portal_settings"),
    path("", include("contacts.urls")),
    path("", include("engagement.urls")),
]

urlpatterns = [
    # Browsers ask for /favicon.ico whatever the page links; answer with the SVG icon.
    path("favicon.ico", views.favicon),
    # Before admin.site.urls: the admin's login is allauth's, with its rate limits and lockout.
    path("admin/login/", admin_login.admin_login, name="admin_login"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("engagement.public_urls")),
    # A portal's logo and accent colour, for recipients' pages (public).
    path("brand/<int:portal_id>/logo", views.brand_logo, name="brand_logo"),
    path("brand/<int:portal_id>/theme.css", views.brand_theme, name="brand_theme"),
    # The Salesforce OAuth callback and the portal's Salesforce pages (under /<portal_slug>/).
    path("", include("integrations.salesforce.urls")),
    path("", views.home, name="home"),
    path("<slug:portal_slug>/", include(portal_patterns)),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns = static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT) + urlpatterns
