from __future__ import annotations

from typing import Any

from jivapay.adapters.resources import Resources
from jivapay.services.platform.health import check_readiness
from tests.services import ServiceHarness


async def test_health_answers_without_dependencies(client: Any) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_checks_database_migrations_and_redis(client: Any) -> None:
    response = await client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}


async def test_not_ready_when_migrations_are_missing(test_services: ServiceHarness, resources: Any) -> None:
    url = await test_services.create_database("jivapay_test_unmigrated")
    other = Resources.create(resources.settings.with_overrides(database_url=url))
    try:
        readiness = await check_readiness(other)
    finally:
        await other.aclose()
        await test_services.drop_database("jivapay_test_unmigrated")
    assert not readiness.ready
    assert readiness.checks["database"].startswith("migrations not at head")
    assert readiness.checks["redis"] == "ok"


async def test_not_ready_when_redis_is_unreachable(resources: Any) -> None:
    other = Resources.create(resources.settings.with_overrides(redis_url="redis://127.0.0.1:1/0"))
    try:
        readiness = await check_readiness(other)
    finally:
        await other.aclose()
    assert not readiness.ready
    assert readiness.checks["database"] == "ok"
    assert readiness.checks["redis"].startswith("unavailable")


async def test_ready_endpoint_answers_503_when_not_ready(client: Any, resources: Any, monkeypatch: Any) -> None:
    broken = Resources.create(resources.settings.with_overrides(redis_url="redis://127.0.0.1:1/0"))
    monkeypatch.setattr("jivapay.http.platform.health.get_resources", lambda: broken)
    try:
        response = await client.get("/ready")
    finally:
        await broken.aclose()
    assert response.status_code == 503
    assert response.json()["status"] == "not_ready"


async def test_metrics_count_requests_by_route_template_and_status(client: Any) -> None:
    await client.get("/health")
    await client.get("/no/such/path")
    body = (await client.get("/metrics")).text
    assert 'jivapay_requests_total{app_name="jivapay",method="GET",path="/health",status_code="200"}' in body
    assert "jivapay_request_duration_seconds_bucket" in body
    assert "/no/such/path" not in body  # unmatched paths do not create label values


async def test_every_response_carries_a_request_id(client: Any) -> None:
    response = await client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    generated = await client.get("/health", headers={"X-Request-ID": "bad id with spaces"})
    assert generated.headers["x-request-id"] != "bad id with spaces"
    assert len(generated.headers["x-request-id"]) == 32


async def test_openapi_schema_lists_operation_ids(client: Any) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    assert schema["paths"]["/health"]["get"]["operationId"] == "health"
    assert schema["paths"]["/ready"]["get"]["operationId"] == "ready"
    assert (await client.get("/schema/swagger")).status_code == 200
    assert (await client.get("/schema/scalar")).status_code == 200
