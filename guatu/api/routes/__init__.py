"""Thin HTTP routes: parse, authorise, call `guatu.api.service` / `guatu.lifecycle.queries`, answer."""
