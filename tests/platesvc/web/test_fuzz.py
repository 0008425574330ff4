"""A property-based fuzz run of the whole API from its own OpenAPI document (schemathesis):
generated requests, valid and not, to every operation, with a staff token where one is asked
for; no answer may be a 500 or disagree with the document (status, content type, schema)."""

import itertools

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks

from platesvc.store.models import Role

EXAMPLES = 50  # per operation and mode (valid requests, and requests the document says are wrong)
CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_schema_conformance, checks.response_headers_conformance]


def test_no_generated_request_gets_a_500_or_an_undocumented_answer(issued_app, tokens):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", issued_app)
    # Through WSGI a body comes back as sent, and an HTTP client would undo gzip itself
    # (test_caching checks what a gzip client gets): ask for bodies as they are.
    headers = {"Authorization": f"Bearer {tokens[Role.ADMIN]}", "Accept-Encoding": "identity"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30
    failures = []
    for operation, mode in itertools.product(operations, GenerationMode):
        @given(case=operation.as_strategy(mode))
        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        def fuzz(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            fuzz()
        except Unsatisfiable:
            assert mode == GenerationMode.NEGATIVE  # the document leaves no way to get this operation wrong
        except (AssertionError, BaseExceptionGroup) as failure:  # every operation's failure, reported together
            failures.append(f"{operation.label} ({mode.value} cases): {failure}")
    assert not failures, "\n\n".join(failures)


@pytest.fixture
def issued_app(issued_app):
    """The issued city with propagated exceptions off, so a bug answers 500 as in production."""
    issued_app.config["PROPAGATE_EXCEPTIONS"] = False
    return issued_app
