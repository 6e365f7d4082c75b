from django.apps import AppConfig


class ThankviewConfig(AppConfig):
    name = "thankview"
    verbose_name = "Portals"
