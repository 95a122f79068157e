"""Property tests generated from our own OpenAPI schema against the real server: never a 5xx.

schemathesis reads /openapi.json from the running server and generates valid and invalid requests for
every operation (JSON strokes, multipart uploads with random bytes, unknown model ids, broken types,
...). Every answer must be a documented status whose body matches its schema, and none may be a server
error. (Driven through hypothesis directly: schemathesis's pytest plugin does not run on this pytest.)
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def run_cases(strategy, base_url: str, statuses: set[int]) -> None:
    @settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def check(case):
        response = case.call_and_validate(base_url=base_url, checks=CHECKS)
        assert response.status_code < 500, response.text
        statuses.add(response.status_code)
        if response.status_code >= 400:
            assert set(response.json()["error"]) == {"code", "message"}

    check()


@pytest.fixture(scope="module")
def operations(server):
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    ops = [result.ok() for result in schema.get_all_operations()]
    labels = {op.label for op in ops}
    assert {"POST /v1/predict", "GET /v1/models", "GET /healthz"} <= labels, labels
    return ops


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_never_answers_5xx(operations, server, mode):
    seen: dict[str, set[int]] = {}
    for op in operations:
        if mode is GenerationMode.NEGATIVE and op.label != "POST /v1/predict":
            continue  # only the request bodies have anything to break (any string is a valid id)
        media_types = (
            ["application/json", "multipart/form-data"] if op.label == "POST /v1/predict" else [None]
        )
        for media in media_types:
            strategy = (
                op.as_strategy(generation_mode=mode, media_type=media) if media else op.as_strategy(mode)
            )

            run_cases(strategy, server.url, seen.setdefault(f"{op.label} {media or ''}".strip(), set()))
    assert server.proc.poll() is None
    print(mode.value, {k: sorted(v) for k, v in seen.items()})
    predict = seen.get("POST /v1/predict application/json", set())
    # the generator did reach the interesting answers, not only one kind of refusal
    if mode is GenerationMode.POSITIVE:
        assert predict & {200, 404, 422}, seen
    else:
        assert predict and predict <= {400, 404, 413, 415, 422}, seen
