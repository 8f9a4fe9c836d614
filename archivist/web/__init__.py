"""The office web app (`archivist serve`): see app.py."""

from .app import create_app

__all__ = ["create_app"]
