"""schemathesis over the live schema: every operation and method, authenticated.

Each operation gets positive and negative examples (valid and invalid input
by the schema); every answer must be free of 5xx and match what the schema
documents (status code, content type, headers, body). Examples are
derandomized so a run is repeatable; raise MAX_EXAMPLES for a deeper search.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from autotrader.api.base import WriteThrottle

MAX_EXAMPLES = 10
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.mark.slow
def test_every_operation_survives_fuzzing(token, fuzz_world, monkeypatch):
    monkeypatch.setattr(WriteThrottle, "rate", "100000/minute")  # throttling has its own test
    auth = {"Authorization": f"Token {token.key}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema?format=json", WSGIHandler(), headers=auth)
    problems = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        modes = [schemathesis.GenerationMode.POSITIVE]
        if operation.path_parameters or operation.query or operation.body:
            modes.append(schemathesis.GenerationMode.NEGATIVE)  # nothing to get wrong otherwise
        for mode in modes:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            def run(case):
                case.call_and_validate(headers=auth, checks=CHECKS)

            try:
                run()
            except Exception as exc:
                problems.append(f"{operation.label} ({mode.value}): {exc}")
    assert operations >= 30
    assert not problems, "\n\n".join(problems)
