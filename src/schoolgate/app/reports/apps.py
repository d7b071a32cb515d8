from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "schoolgate.app.reports"
    label = "reports"
    verbose_name = "Governors' reports and self-checks"
