"""Portal pages, mounted at /<portal_slug>/ (namespace "engagement")."""

from django.urls import path

from . import views

app_name = "engagement"

urlpatterns = [
    path("campaigns/", views.campaign_list, name="campaign_list"),
    path("campaigns/new/", views.campaign_create, name="campaign_create"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign_detail"),
    path("campaigns/<int:pk>/send/", views.campaign_send, name="campaign_send"),
    path("campaigns/<int:campaign_pk>/sends/<int:pk>/", views.send_detail, name="send_detail"),
    path("campaigns/<int:campaign_pk>/sending/<int:pk>/", views.send_job_detail, name="send_job_detail"),
    path("campaigns/<int:campaign_pk>/sending/<int:pk>/status.json", views.send_job_status, name="send_job_status"),
    path("api-keys/", views.apikey_list, name="apikey_list"),
    path("api-keys/<int:pk>/revoke/", views.apikey_revoke, name="apikey_revoke"),
    path("api-keys/bounce-secret/rotate/", views.bounce_secret_rotate, name="bounce_secret_rotate"),
]
