"""Update validators: a refusal is an answer, anything else is a bug.

Only `InputRejected` (or the ApplicationError it becomes) leaves a validator as a refusal, which
the doors answer with 422 and the rule's code. Any other exception raised inside a validator (an
unguarded parse, a missing key, a failed assertion) is a bug of ours: it is logged with its
trace by the worker and rejects the update as `ValidatorFailed`, which the doors answer as a
server error (500, logged), never as the bureau's mistake. Rejecting (rather than failing the
workflow task) keeps the caller from waiting for a task that would fail on every retry.

Imported by workflow code (through the sandbox).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from guatu.core.refusal import InputRejected

VALIDATOR_FAILED = "ValidatorFailed"
REFUSAL = "InputRejected"

V = TypeVar("V", bound=Callable[..., None])


def refuse_on(check: Callable[[Any], None], data: Any) -> None:
    """Run a check inside a validator: refusals pass as refusals, bugs as `ValidatorFailed`."""
    try:
        check(data)
    except InputRejected as err:
        raise err.as_application_error() from None
    except ApplicationError as err:
        if err.type == REFUSAL:
            raise
        raise _bug(check, err) from err
    except Exception as err:
        raise _bug(check, err) from err


def guarded(validator: V) -> V:
    """Decorate an update validator method with `refuse_on`."""

    @functools.wraps(validator)
    def wrapper(self: Any, data: Any) -> None:
        refuse_on(functools.partial(validator, self), data)

    return wrapper  # type: ignore[return-value]


def _bug(check: Callable[..., Any], err: BaseException) -> ApplicationError:
    target = getattr(check, "func", check)  # a functools.partial: the validator it wraps
    name = getattr(target, "__qualname__", None) or getattr(target, "__name__", "validator")
    workflow.logger.error(
        "update validator failed: a bug, not a refusal",
        exc_info=err,
        extra={"validator": name, "error": f"{type(err).__name__}: {err}"},
    )
    return ApplicationError(
        f"internal error in an update validator: {type(err).__name__}: {err}",
        {"code": "validator_failed", "error": type(err).__name__},
        type=VALIDATOR_FAILED,
        non_retryable=True,
    )


__all__ = ["VALIDATOR_FAILED", "guarded", "refuse_on"]
