from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "schoolgate.app.alerts"
    label = "alerts"
    verbose_name = "Monitoring alerts"
