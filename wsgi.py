"""gunicorn wsgi:app, and `flask --app wsgi ...` for the CLI."""

from server.app import create_app

app = create_app()
