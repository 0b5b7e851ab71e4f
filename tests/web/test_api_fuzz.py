"""The JSON API fuzzed against its own OpenAPI schema, in-process: no 5xx, answers as documented."""

from __future__ import annotations

from typing import Any

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings

from tests.web.seed import World

MAX_EXAMPLES = 30


def test_the_api_keeps_its_schema_and_never_fails(app: FastAPI, world: World) -> None:
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) == 4
    tokens = [world.tokens[user] for user in ("ana", "liz", "aude")]
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        def fuzz(case: Any) -> None:
            for token in tokens:
                case.call_and_validate(headers={"Authorization": f"Bearer {token}"})
            assert case.call().status_code == 401

        fuzz()


def test_the_schema_documents_the_api_and_no_page(app: FastAPI) -> None:
    document = app.openapi()
    assert set(document["paths"]) == {
        "/api/me",
        "/api/cases",
        "/api/cases/{case_id}",
        "/api/cases/{case_id}/bundle",
    }
    assert "HTTPBearer" in document["components"]["securitySchemes"]
