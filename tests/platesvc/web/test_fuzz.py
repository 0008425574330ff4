"""A property-based fuzz run of the whole API from its own OpenAPI document (schemathesis):
generated requests, valid and not, to every operation, with a staff token where one is asked
for; no answer may be a 500 or disagree with the document (status, content type, schema)."""

import itertools
import json

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks

from platesvc.store.models import Role

EXAMPLES = 50  # per operation and mode (valid requests, and requests the document says are wrong)
# Digits of other scripts and widths, NUL, the syntax of SQL and of full-text engines (FTS5's phrases, prefixes and
# NEAR), an emoji and 500 characters, and (in JSON, where a client can send one) a lone surrogate.
ODD_VALUES = ["²", "١٢", "９", "𝟗", "a\x00b", '"', "*", "NEAR(", "'", "😀", "路" * 500]
ODD_IN_JSON = [*ODD_VALUES, "\ud800", "\u0000\ud800"]
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


def test_no_odd_value_in_any_parameter_or_field_gets_a_500(issued_app, tokens):
    """A valid request of each operation again with each documented query parameter or body field in turn set
    to each odd value, sent as a client would (a lone surrogate as JSON's escape): no generator need make it."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", issued_app)
    client = issued_app.test_client()
    headers = {"Authorization": f"Bearer {tokens[Role.ADMIN]}"}
    answers = {}
    for operation in (result.ok() for result in schema.get_all_operations()):
        _send_odd_values(client, headers, operation, answers)
    failures = [asked for asked, status in answers.items() if status >= 500]
    assert len(answers) > 200 and not failures, "\n".join(failures)


def _send_odd_values(client, headers: dict, operation, answers: dict) -> None:
    documented = [parameter.name for parameter in operation.query]

    @given(case=operation.as_strategy(GenerationMode.POSITIVE))
    @settings(max_examples=1, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    def send(case):
        query = case.query if isinstance(case.query, dict) else {}
        body = case.body if isinstance(case.body, dict) else None
        variants = [(dict(query, **{name: value}), body) for name in documented for value in ODD_VALUES]
        variants += [(query, dict(body, **{name: value})) for name in body or () for value in ODD_IN_JSON]
        for asked_query, asked_body in variants:
            answer = client.open(case.formatted_path, method=case.method, query_string=asked_query, headers=headers,
                                 content_type="application/json",
                                 data=None if asked_body is None else json.dumps(asked_body))
            answers[f"{case.method} {case.formatted_path} {asked_query} {asked_body!r}"] = answer.status_code

    send()


@pytest.fixture
def issued_app(issued_app):
    """The issued city with propagated exceptions off, so a bug answers 500 as in production."""
    issued_app.config["PROPAGATE_EXCEPTIONS"] = False
    return issued_app
