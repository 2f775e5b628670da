"""A refusal of bad input: a stable code and a message a clerk can act on, Chinese first.

Raised by every rule that checks input (the lifecycle's, the ranking's, appeals'); an Update
validator turns it into a non-retryable `ApplicationError` of type "InputRejected", which the
doors answer as 422 (guatu/core/validator_guard.py keeps every other exception a server error).
"""

from __future__ import annotations

from temporalio.exceptions import ApplicationError


class InputRejected(Exception):
    """A refusal with a stable code and a bilingual message."""

    def __init__(self, code: str, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.code = code
        self.zh = zh
        self.en = en

    @property
    def message(self) -> str:
        return f"{self.zh} / {self.en}"

    def as_application_error(self) -> ApplicationError:
        """The refusal as an Update validator raises it: non-retryable, details for the API."""
        return ApplicationError(
            self.message,
            {"code": self.code, "zh": self.zh, "en": self.en},
            type="InputRejected",
            non_retryable=True,
        )
