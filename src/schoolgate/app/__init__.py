"""The Schoolgate staff application: people, roles, safe sign-in and incident cases (Django)."""
