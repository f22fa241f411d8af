"""Model fields that never store a secret: exchange and exception texts are redacted on the way in.

A text that quotes an exchange's error may quote the request with it: an
``Authorization`` header, a JWT (whose header names the API key), a key name.
Redacting where it is shown leaves it in the database, the admin and every
page that forgets; redacting where it is logged misses the database. These
fields run ``autotrader.logging.redact`` on every value they write, by
``save()``, ``QuerySet.update()`` or bulk writes alike, so no code path can
skip it; then they cut the text to the column's length (after redacting, so
that a secret is never cut into a piece the patterns no longer recognise).

Migrations see the plain Django field: the column is the same, only what is
written into it changes.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from autotrader.logging import redact, redacted


class RedactedCharField(models.CharField):
    """A ``CharField`` whose text is redacted, then cut to ``max_length``, before it is stored."""

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str):
            value = redact(value)
            if self.max_length is not None:
                value = value[: self.max_length]
        return value

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        # The instance holds what was stored, so a page rendered from it after save() shows no secret either.
        value = self._clean(super().pre_save(model_instance, add))
        setattr(model_instance, self.attname, value)
        return value

    def get_prep_value(self, value: Any) -> Any:
        return self._clean(super().get_prep_value(value))

    def deconstruct(self) -> tuple[str, str, list[Any], dict[str, Any]]:
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.CharField", args, kwargs


class RedactedJSONField(models.JSONField):
    """A ``JSONField`` whose strings (keys and values, at any depth) are redacted before it is stored."""

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = redacted(super().pre_save(model_instance, add))
        setattr(model_instance, self.attname, value)
        return value

    def get_prep_value(self, value: Any) -> Any:
        return super().get_prep_value(redacted(value))

    def deconstruct(self) -> tuple[str, str, list[Any], dict[str, Any]]:
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.JSONField", args, kwargs
