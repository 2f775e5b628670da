"""The HTTP API for bureau systems, managers and leaders (FastAPI, under /api/v1)."""

from guatu.api.app import create_app

__all__ = ["create_app"]
