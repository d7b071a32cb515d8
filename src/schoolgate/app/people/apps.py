from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "schoolgate.app.people"
    label = "people"
    verbose_name = "People"
