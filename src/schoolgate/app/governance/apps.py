from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "schoolgate.app.governance"
    label = "governance"
    verbose_name = "Filtering governance"
