from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "schoolgate.app.cases"
    label = "cases"
    verbose_name = "Incident cases"
