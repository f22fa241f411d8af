"""schemathesis over the live schema: every operation and method, authenticated.

Each operation gets positive and negative examples (valid and invalid input
by the schema); an operation on an object runs on the ids of real objects, so
the happy paths are fuzzed too, and with invalid generated ids. Every
answer must be free of 5xx and match what the schema documents: status code,
content type, headers and body. Examples are derandomized so that a run is
repeatable; raise MAX_EXAMPLES for a deeper search.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from autotrader.api.base import WriteThrottle
from trading.models import Order

MAX_EXAMPLES = 6
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
POSITIVE, NEGATIVE = schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE


def _fuzz(operation, auth: dict[str, str], mode, path_parameters: dict) -> None:
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters or None))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        case.call_and_validate(headers=auth, checks=CHECKS)

    run()


@pytest.mark.slow
def test_every_operation_survives_fuzzing(token, traded_bot, backtest_run, fuzz_world, monkeypatch):
    monkeypatch.setattr(WriteThrottle, "rate", "100000/minute")  # throttling has its own test
    auth = {"Authorization": f"Token {token.key}"}
    real = {"id": traded_bot.pk, "product_id": "BTC-USD"}
    schema = schemathesis.openapi.from_wsgi("/api/schema?format=json", WSGIHandler(), headers=auth)
    problems = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        names = {p.name for p in operation.path_parameters}
        pinned = {k: v for k, v in real.items() if k in names}
        if operation.path.startswith("/api/v1/orders/"):
            pinned = {"id": Order.objects.filter(bot=traded_bot).first().pk}
        if operation.path.startswith("/api/v1/backtests/"):
            pinned = {"id": backtest_run.pk}
        for path_parameters in [{}, pinned] if pinned else [{}]:
            free = names - set(path_parameters)
            modes = [POSITIVE, NEGATIVE]
            if pinned and not path_parameters:
                modes = [NEGATIVE]  # valid but unknown ids are a plain 404, tested elsewhere
            elif not (free or len(operation.query) or operation.body):
                modes = [POSITIVE]  # nothing to get wrong: hypothesis would search in vain
            for mode in modes:
                try:
                    _fuzz(operation, auth, mode, path_parameters)
                except Unsatisfiable:
                    assert mode is NEGATIVE, operation.label  # nothing left to get wrong
                except Exception as exc:
                    problems.append(f"{operation.label} ({mode.value}, {path_parameters}): {exc}")
    assert operations >= 33
    assert not problems, "\n\n".join(problems)
