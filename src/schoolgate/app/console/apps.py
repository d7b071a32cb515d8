from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "schoolgate.app.console"
    label = "console"
    verbose_name = "Network manager's console"
