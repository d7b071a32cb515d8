from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "schoolgate.app.reviews"
    label = "reviews"
    verbose_name = "Filtering and monitoring reviews"
