"""WSGI entry point: ``gunicorn wsgi:app``."""

from compete import create_app

app = create_app()
