from django.apps import AppConfig


class AgreementsConfig(AppConfig):
    name = "schoolgate.app.agreements"
    label = "agreements"
    verbose_name = "Agreements, consents and training"
