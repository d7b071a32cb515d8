"""Offline training of Schoolgate's text model (not part of the installed package)."""
