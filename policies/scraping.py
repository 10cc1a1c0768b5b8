"""Whether Prometheus scrapes an inference pool's vLLM metrics: a PodMonitor that selects
its pods on vLLM's port, or a ServiceMonitor that selects a Service in front of them on a
port that leads there. kube-prometheus-stack scrapes nothing else, so an alert on a metric
no monitor collects never fires."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import PolicyResource

from facts.resource_types import POD_MONITOR, SERVICE, SERVICE_MONITOR
from policies.building import Report
from policies.pools import Pool, by_type, selects
from policies.properties import containers, dig, flag, is_vllm, items, labels, mapping, pod_meta


def _namespace(props: Mapping[str, Any]) -> str:
    return str(dig(props, "metadata", "namespace") or "default")


def _watches(monitor: PolicyResource, namespace: str) -> bool:
    """The monitor looks in ``namespace``: its own unless its namespaceSelector says more."""
    chosen = mapping(dig(monitor.props, "spec", "namespaceSelector"))
    if flag(chosen.get("any")):
        return True
    names = [str(n) for n in items(chosen.get("matchNames"))]
    return namespace in names if names else namespace == _namespace(monitor.props)


def _matches(monitor: PolicyResource, found: Mapping[str, Any]) -> bool:
    """The monitor's label selector (matchLabels) picks objects labelled ``found``."""
    wanted = mapping(dig(monitor.props, "spec", "selector", "matchLabels"))
    return all(found.get(key) == value for key, value in wanted.items())


def _port(value: Any) -> str:
    """A port as a name or a whole number (the engine sends numbers as floats)."""
    number = str(value)
    return number.removesuffix(".0")


def _ports(port: Mapping[str, Any], *keys: str) -> set[str]:
    return {_port(port[key]) for key in keys if key in port}


def vllm_ports(deployment: PolicyResource) -> set[str]:
    """The names and numbers of the ports vLLM listens on in the pool's pods (every port of
    the pod when no container is recognisably vLLM)."""
    found: set[str] = set()
    every: set[str] = set()
    for container in containers(deployment.props):
        for port in (mapping(p) for p in items(container.get("ports"))):
            names = {
                str(port[k]).removesuffix(".0") for k in ("name", "containerPort") if k in port
            }
            every |= names
            if is_vllm(container):
                found |= names
    return found or every


def _pod_monitor_scrapes(monitor: PolicyResource, deployment: PolicyResource) -> bool:
    if not _matches(monitor, pod_meta(deployment.props, "labels")):
        return False
    ports = vllm_ports(deployment)
    for endpoint in (mapping(e) for e in items(dig(monitor.props, "spec", "podMetricsEndpoints"))):
        if _ports(endpoint, "port", "portNumber", "targetPort") & ports:
            return True
    return False


def _service_monitor_scrapes(
    monitor: PolicyResource, deployment: PolicyResource, services: list[PolicyResource]
) -> bool:
    ports = vllm_ports(deployment)
    endpoints = [mapping(e) for e in items(dig(monitor.props, "spec", "endpoints"))]
    for service in services:
        if not (_matches(monitor, labels(service.props)) and selects(service, deployment)):
            continue
        service_ports = [mapping(p) for p in items(dig(service.props, "spec", "ports"))]
        leads = {_port(p.get("name")) for p in service_ports if _port(p.get("targetPort")) in ports}
        for endpoint in endpoints:
            if _ports(endpoint, "port") & leads or _ports(endpoint, "targetPort") & ports:
                return True
    return False


class Monitors:
    """A stack's monitors and Services, read once per stack check and bucketed: a monitor
    can select an
    object only if the first pair of its selector is among the object's labels, so each
    deployment is held against the monitors of its own label pairs, not every monitor."""

    def __init__(self, resources: list[PolicyResource]) -> None:
        self.buckets: dict[str, dict[tuple[str, str] | None, list[PolicyResource]]] = {}
        for kind in (POD_MONITOR, SERVICE_MONITOR):
            bucket: dict[tuple[str, str] | None, list[PolicyResource]] = {}
            for monitor in by_type(resources, kind):
                wanted = mapping(dig(monitor.props, "spec", "selector", "matchLabels"))
                first = next(iter(wanted.items()), None)
                key = None if first is None else (str(first[0]), str(first[1]))
                bucket.setdefault(key, []).append(monitor)
            self.buckets[kind] = bucket
        self.services: dict[str, list[PolicyResource]] = {}
        for service in by_type(resources, SERVICE):
            self.services.setdefault(_namespace(service.props), []).append(service)

    def candidates(self, kind: str, found: Mapping[str, Any]) -> list[PolicyResource]:
        """The monitors of ``kind`` whose selector could pick objects labelled ``found``,
        in the stack's order."""
        bucket = self.buckets[kind]
        picked = list(bucket.get(None, []))
        for pair in found.items():
            picked += bucket.get((str(pair[0]), str(pair[1])), [])
        return picked

    def service_monitors_for(self, deployment: PolicyResource) -> list[PolicyResource]:
        found: list[PolicyResource] = []
        for service in self.services.get(_namespace(deployment.props), []):
            if selects(service, deployment):
                found += self.candidates(SERVICE_MONITOR, labels(service.props))
        return list(dict.fromkeys(found))


def scraped(pool: Pool, monitors: Monitors) -> bool:
    """Every Deployment of the pool has its vLLM port scraped by some monitor."""
    for deployment in pool.deployments:
        namespace = _namespace(deployment.props)
        pod_monitors = monitors.candidates(POD_MONITOR, pod_meta(deployment.props, "labels"))
        if any(_watches(m, namespace) and _pod_monitor_scrapes(m, deployment)
               for m in pod_monitors):  # fmt: skip
            continue
        if not monitors.buckets[SERVICE_MONITOR]:
            return False
        services = monitors.services.get(namespace, [])
        if not any(
            _watches(m, namespace) and _service_monitor_scrapes(m, deployment, services)
            for m in monitors.service_monitors_for(deployment)
        ):
            return False
    return True


def report_unscraped(pool: Pool, monitors: Monitors, metric: str, report: Report) -> None:
    """An alert on ``metric`` for a pool whose vLLM pods nothing scrapes never fires."""
    if not scraped(pool, monitors):
        report(
            f"tier {pool.tier} alerts on {metric}, but no PodMonitor or ServiceMonitor scrapes "
            "its vLLM pods, so the alert never fires. Declare one on vLLM's port "
            "(components.VllmService's pod_monitor).",
            pool.deployments[0].urn,
        )
