from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "schoolgate.app.audit"
    label = "audit"
    verbose_name = "Audit trail"
