from typing import Any

from django.apps import AppConfig
from django.db.backends.signals import connection_created


class AuditConfig(AppConfig):
    name = "schoolgate.app.audit"
    label = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        connection_created.connect(_sqlite_sha256)


def _sqlite_sha256(sender: Any, connection: Any, **kwargs: Any) -> None:
    """SQLite has no SHA-256; the audit chain's INSERT computes its hash in SQL (see trail)."""
    if connection.vendor == "sqlite":
        from schoolgate.app.audit.models import sha256_hex

        connection.connection.create_function(
            "schoolgate_sha256", 1, sha256_hex, deterministic=True
        )
