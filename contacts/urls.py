from django.urls import path

from . import views

app_name = "contacts"

urlpatterns = [
    path("contacts/", views.contact_list, name="list"),
    path("contacts/import/", views.contact_import, name="import"),
    path("contacts/imports/<int:pk>/", views.contact_import_detail, name="import_detail"),
    path("contacts/imports/<int:pk>/status.json", views.contact_import_status, name="import_status"),
    path("contacts/export.csv", views.contact_export, name="export"),
    path("contacts/<int:pk>/edit/", views.contact_edit, name="edit"),
]
