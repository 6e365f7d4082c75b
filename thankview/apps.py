from django.apps import AppConfig


class ThankviewConfig(AppConfig):
    name = "thankview"
    verbose_name = "Portals"

    def ready(self):
        from . import admin_login  # noqa: F401  (connects the failed-login log)
