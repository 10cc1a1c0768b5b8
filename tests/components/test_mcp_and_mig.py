"""McpServer stays off GPU nodes (C3); MigConfiguration writes a mig-parted config the GPU
operator can apply."""

from __future__ import annotations

import pytest
import yaml
from pydantic import ValidationError

from components import (
    McpServer,
    McpServerArgs,
    MigConfiguration,
    MigConfigurationArgs,
    MigLayout,
    mcp_server,
    mig_config,
)
from facts.resource_types import CONFIG_MAP, DEPLOYMENT, NETWORK_POLICY, SERVICE
from infra.offline.manifests import manifest
from tests.components.builders import MIG_LAYOUTS as LAYOUTS
from tests.components.builders import mcp_args
from tests.components.support import children, one, run, validate_all


def test_mcp_server_is_a_cpu_workload() -> None:
    registrations = run(lambda: McpServer("github-tools", mcp_args()).endpoint)
    assert sorted((r.type, r.name) for r in children(registrations, mcp_server.TYPE)) == [
        (DEPLOYMENT, "github-tools-deployment"),
        (SERVICE, "github-tools-service"),
        (NETWORK_POLICY, "github-tools-network-policy"),
    ]
    deployment = manifest(one(registrations, DEPLOYMENT, "github-tools-deployment"))
    assert deployment["metadata"]["labels"]["agentfleet.io/role"] == "mcp-server"
    assert deployment["metadata"]["labels"]["agentfleet.io/serves-tier"] == "mid-tier"
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["resources"] == {
        "requests": {"cpu": "500m", "memory": "512Mi"},
        "limits": {"cpu": "500m", "memory": "512Mi"},
    }
    assert "tolerations" not in pod
    assert "nodeSelector" not in pod
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert terms["nodeSelectorTerms"] == [
        {
            "matchExpressions": [
                {"key": "agentfleet.io/node-class", "operator": "NotIn", "values": ["gpu"]},
                {"key": "nvidia.com/gpu.present", "operator": "NotIn", "values": ["true"]},
            ]
        }
    ]
    assert container["env"] == [
        {"name": "INFERENCE_URL", "value": "http://mid-tier-vllm.agentfleet.svc.cluster.local:8000"},
        {"name": "TASK_QUEUE_URL", "value": "https://sqs.us-east-1.amazonaws.com/123456789012/mid-tier"},
        {"name": "LOG_LEVEL", "value": "info"},
    ]  # fmt: skip
    assert container["readinessProbe"]["tcpSocket"] == {"port": 8080}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert validate_all(registrations) == 3  # the Deployment, Service and NetworkPolicy


def test_an_mcp_server_reaches_neither_the_nodes_credentials_nor_other_pods() -> None:
    """An MCP server runs the user's image beside the fleet: its NetworkPolicy lets it
    reach DNS, the namespace's vLLM port and HTTP(S) outside, but not the link-local
    addresses (the instance metadata, the Pod Identity agent) nor any other pod."""
    registrations = run(lambda: McpServer("github-tools", mcp_args()).endpoint)
    policy = manifest(one(registrations, NETWORK_POLICY, "github-tools-network-policy"))
    spec = policy["spec"]
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    assert spec["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "mcp-server"
    dns, vllm, outside = spec["egress"]
    assert dns["ports"][0]["port"] == 53
    assert vllm == {
        "to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "vllm"}}}],
        "ports": [{"port": 8000, "protocol": "TCP"}],
    }
    assert outside["to"] == [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.0.0/16"]}}]
    assert [p["port"] for p in outside["ports"]] == [80, 443]


def test_mcp_server_http_health_and_node_selector() -> None:
    args = mcp_args(health_path="/healthz", node_selector={"agentfleet.io/node-class": "cpu"})
    registrations = run(lambda: McpServer("github-tools", args).endpoint)
    pod = manifest(one(registrations, DEPLOYMENT, "github-tools-deployment"))["spec"]["template"][
        "spec"
    ]
    assert pod["nodeSelector"] == {"agentfleet.io/node-class": "cpu"}
    assert pod["containers"][0]["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": 8080}
    assert validate_all(registrations) == 3


def test_an_mcp_server_sends_its_tiers_api_key_from_the_secret() -> None:
    """vLLM requires the tier's key on its API: the MCP server gets it as VLLM_API_KEY from
    the tier's Secret, never as plain env."""
    args = mcp_args(api_key_secret="mid-tier-vllm-api-key")
    registrations = run(lambda: McpServer("github-tools", args).endpoint)
    pod = manifest(one(registrations, DEPLOYMENT, "github-tools-deployment"))["spec"]["template"]
    (key,) = [e for e in pod["spec"]["containers"][0]["env"] if e["name"] == "VLLM_API_KEY"]
    assert key == {
        "name": "VLLM_API_KEY",
        "valueFrom": {"secretKeyRef": {"name": "mid-tier-vllm-api-key", "key": "api-key"}},
    }


def test_mcp_args_are_validated() -> None:
    with pytest.raises(ValidationError, match="String should match pattern"):
        mcp_args().__class__(**{**mcp_args().model_dump(), "name": "GitHub_Tools"})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        McpServerArgs(**{**mcp_args().model_dump(), "gpu": 1})


def test_mig_configuration_config_map() -> None:
    args = MigConfigurationArgs(layouts=LAYOUTS)
    registrations = run(lambda: MigConfiguration("fleet-mig", args).config_names)
    (config_map,) = children(registrations, mig_config.TYPE)
    body = manifest(config_map)
    assert (config_map.type, config_map.name) == (CONFIG_MAP, "fleet-mig-config")
    assert body["metadata"]["name"] == "agentfleet-mig-parted-config"
    assert body["metadata"]["namespace"] == "gpu-operator"
    assert yaml.safe_load(body["data"]["config.yaml"]) == {
        "version": "v1",
        "mig-configs": {
            "all-disabled": [{"devices": "all", "mig-enabled": False}],
            "agentfleet-mid-tier": [
                {"devices": "all", "mig-enabled": True, "mig-devices": {"3g.40gb": 2}}
            ],
            "agentfleet-orchestrator": [
                {
                    "devices": "all",
                    "mig-enabled": True,
                    "mig-devices": {"2g.20gb": 1, "1g.10gb": 1},
                }
            ],
        },
    }
    assert validate_all(registrations) == 1


def test_mig_configuration_names_the_node_label_values() -> None:
    component: list[MigConfiguration] = []

    def program() -> object:
        component.append(MigConfiguration("fleet-mig", MigConfigurationArgs(layouts=LAYOUTS)))
        return None

    run(program)
    assert component[0].config_names == {
        "mid-tier": "agentfleet-mid-tier",
        "orchestrator": "agentfleet-orchestrator",
    }


def test_a_layout_that_does_not_fit_is_refused_when_made() -> None:
    with pytest.raises(ValidationError, match=r"\{4g\.40gb: 2\} needs 8 compute"):
        MigLayout(gpu="h100-pcie", layout={"4g.40gb": 2})
    with pytest.raises(ValidationError, match=r"\{7g\.80gb: 1, 1g\.10gb: 1\} needs 8 compute"):
        MigLayout(gpu="h100-pcie", layout={"7g.80gb": 1, "1g.10gb": 1})
    with pytest.raises(ValidationError, match="l40s has no MIG"):
        MigLayout(gpu="l40s", layout={"1g.10gb": 1})
    # A config map is only ever written for layouts that fit.
    with pytest.raises(ValidationError):
        MigConfigurationArgs(layouts={"x": {"gpu": "h100-pcie", "layout": {"4g.40gb": 2}}})  # type: ignore[dict-item]
