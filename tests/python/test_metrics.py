"""GET /metrics as Prometheus reads it: every line parsed by prometheus_client's text-format
parser, and the counters an operator watches moving with requests and with gateway denials."""

import httpx2 as httpx
from prometheus_client.parser import text_string_to_metric_families


def scrape(roster):
    response = httpx.get(roster.base_url + "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_counters_move_with_requests_and_denials(roster, client):
    before = scrape(roster)
    project = client.admin.organization.projects.create(name="Counted")
    for _ in range(3):
        client.admin.organization.projects.retrieve(project.id)
    for _ in range(2):
        refused = httpx.post(roster.base_url + "/v1/gateway/check", json={"api_key": "sk-proj-unknown0000000000000000"})
        assert refused.json()["allowed"] is False
    after = scrape(roster)

    route = {"route": "/v1/organization/projects/{project_id}", "method": "GET"}
    assert value(after, "roster_http_requests_total", **route, status="200") - value(
        before, "roster_http_requests_total", **route, status="200"
    ) == 3
    assert value(after, "roster_http_request_duration_seconds_count", **route) - value(
        before, "roster_http_request_duration_seconds_count", **route
    ) == 3
    assert value(after, "roster_gateway_decisions_total", outcome="incorrect_key") - value(
        before, "roster_gateway_decisions_total", outcome="incorrect_key"
    ) == 2
    assert value(after, "roster_audit_events_total") > value(before, "roster_audit_events_total")
    build = [(dict(labels), v) for (name, labels), v in after.items() if name == "roster_build_info"]
    assert len(build) == 1 and build[0][0]["version"] and build[0][1] == 1, build
