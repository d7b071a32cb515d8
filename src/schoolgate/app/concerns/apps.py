from django.apps import AppConfig


class ConcernsConfig(AppConfig):
    name = "schoolgate.app.concerns"
    label = "concerns"
    verbose_name = "Safeguarding concerns"
