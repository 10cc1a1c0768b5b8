"""Every metric the fleet's alerts and autoscaler triggers read is scraped: for each series
a PrometheusRule expression or a KEDA prometheus trigger selects (its namespace and pod
name pattern), some Deployment's pods match, and a PodMonitor the add-on's Prometheus loads
selects those pods on the port of the container that exports the metric, at /metrics.
kube-prometheus-stack scrapes nothing else."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from facts.resource_types import (
    DEPLOYMENT,
    HELM_RELEASE,
    POD_MONITOR,
    PROMETHEUS_RULE,
    SCALED_OBJECT,
)
from infra.offline.mocks import Registration, run_program
from tests.helpers import STACKS, stack_values

# Which container exports which metrics: vLLM's own, and the queue worker's counters.
EXPORTERS = {"vllm:": "vllm", "agentfleet_worker_": "queue-worker"}
KUBE_STATE_METRICS = "kube_"
SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}")
MATCHER = re.compile(r'(\w+)\s*(=~|=)\s*"([^"]*)"')


def build(stack: str) -> list[Registration]:
    registrations, _ = run_program(stack_values(stack), stack=stack)
    return registrations


def series(registrations: list[Registration]) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(where it is read, metric, label matchers) of every selector in the rules and the
    triggers."""
    for r in registrations:
        if r.type == PROMETHEUS_RULE:
            for group in r.inputs["spec"]["groups"]:
                for rule in group["rules"]:
                    yield from _selectors(rule["alert"], rule["expr"])
        if r.type == SCALED_OBJECT:
            for trigger in r.inputs["spec"]["triggers"]:
                if trigger["type"] == "prometheus":
                    yield from _selectors(trigger["name"], trigger["metadata"]["query"])


def _selectors(where: str, expression: str) -> Iterator[tuple[str, str, dict[str, str]]]:
    found = SELECTOR.findall(expression)
    assert found, f"{where}: no metric selector in {expression}"
    for metric, matchers in found:
        yield where, metric, {label: value for label, _, value in MATCHER.findall(matchers)}


def assert_kube_state_metrics_exports(
    registrations: list[Registration], labels: dict[str, str]
) -> None:
    """kube-state-metrics comes with the add-on (and the chart's own ServiceMonitor), but
    puts a Kubernetes label on kube_node_labels only when allowlisted."""
    (release,) = [
        r
        for r in registrations
        if r.type == HELM_RELEASE and r.inputs["chart"] == "kube-prometheus-stack"
    ]
    allowlist = release.inputs["values"]["kube-state-metrics"]["metricLabelsAllowlist"]
    allowed = {
        "label_" + re.sub(r"[^a-zA-Z0-9_]", "_", label)
        for entry in allowlist
        if entry.startswith("nodes=")
        for label in entry.removeprefix("nodes=[").removesuffix("]").split(",")
    }
    assert {label for label in labels if label.startswith("label_")} <= allowed


def exporter(metric: str) -> str:
    return next(container for prefix, container in EXPORTERS.items() if metric.startswith(prefix))


def pods_matching(registrations: list[Registration], labels: dict[str, str]) -> list[Any]:
    """Deployments whose pods the matchers select (pod names are <deployment>-<hash>-<id>;
    Prometheus anchors a regular expression at both ends)."""
    found = []
    for d in registrations:
        if d.type != DEPLOYMENT:
            continue
        if d.inputs["metadata"].get("namespace") != labels.get("namespace"):
            continue
        pod = f"{d.inputs['metadata']['name']}-5d9c8b7f6d-x2k4q"
        if "pod" in labels and not re.fullmatch(labels["pod"], pod):
            continue
        found.append(d.inputs)
    return found


def scrapes(monitor: dict[str, Any], deployment: dict[str, Any], container: str) -> bool:
    template = deployment["spec"]["template"]
    wanted = monitor["spec"]["selector"].get("matchLabels", {})
    if any(template["metadata"]["labels"].get(k) != v for k, v in wanted.items()):
        return False
    (serving,) = [c for c in template["spec"]["containers"] if c["name"] == container]
    ports = {p["name"] for p in serving.get("ports", [])}
    return any(
        e.get("port") in ports and e.get("path", "/metrics") == "/metrics"
        for e in monitor["spec"]["podMetricsEndpoints"]
    )


@pytest.mark.parametrize("stack", STACKS)
def test_every_metric_read_is_scraped(stack: str) -> None:
    registrations = build(stack)
    monitors = [r.inputs for r in registrations if r.type == POD_MONITOR]
    read = list(series(registrations))
    assert len(read) >= 3
    for where, metric, labels in read:
        if metric.startswith(KUBE_STATE_METRICS):
            assert_kube_state_metrics_exports(registrations, labels)
            continue
        deployments = pods_matching(registrations, labels)
        assert deployments, f"{where}: {metric}{labels} selects no Deployment's pods"
        for deployment in deployments:
            namespace = deployment["metadata"]["namespace"]
            assert any(
                m["metadata"]["namespace"] == namespace and scrapes(m, deployment, exporter(metric))
                for m in monitors
            ), f"{where}: nothing scrapes {metric} of {deployment['metadata']['name']}"


@pytest.mark.parametrize("stack", STACKS)
def test_every_worker_is_scraped_too(stack: str) -> None:
    registrations = build(stack)
    monitors = [r.inputs for r in registrations if r.type == POD_MONITOR]
    for r in registrations:
        containers = r.inputs.get("spec", {}).get("template", {}).get("spec", {})
        if r.type == DEPLOYMENT and any(
            c["name"] == "queue-worker" for c in containers.get("containers", [])
        ):
            assert any(scrapes(m, r.inputs, "queue-worker") for m in monitors), r.name


def test_the_addons_prometheus_loads_every_monitor_and_rule() -> None:
    """With a nil selector kube-prometheus-stack loads only objects labelled with its
    release, and with a nil namespace selector the operator looks only in Prometheus's own
    namespace: both are set to select everything."""
    (release,) = [
        r
        for r in build("prod")
        if r.type == HELM_RELEASE and r.inputs["chart"] == "kube-prometheus-stack"
    ]
    spec = release.inputs["values"]["prometheus"]["prometheusSpec"]
    for kind in ("rule", "serviceMonitor", "podMonitor"):
        assert spec[f"{kind}SelectorNilUsesHelmValues"] is False
        assert spec[f"{kind}Selector"] == {}
        assert spec[f"{kind}NamespaceSelector"] == {}
