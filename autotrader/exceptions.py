"""Errors a service raises when it refuses a request for a reason the caller can act on.

Interfaces show ``message``; the API answers ``status`` with ``{message, extra}``
(HackSoft's ``ApplicationError``). Validation of input stays with Django's
``ValidationError``; these are refusals of valid input.
"""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """The request cannot be carried out as asked (400)."""

    status = 400

    def __init__(self, message: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class Conflict(ApplicationError):
    """The request is valid but the resource's state forbids it (409)."""

    status = 409
