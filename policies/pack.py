"""The pack's policies, in the order of the metadata table. Importing this builds no
server; ``policies/__main__.py`` does that."""

from __future__ import annotations

from pulumi_policy import Policy

from policies import (
    background_tiers_use_spot,
    cost_budget_alerts,
    cost_tags_by_tier,
    eks_private_endpoint,
    eks_secrets_encryption,
    gpu_tier_matches_latency_class,
    helm_chart_pinned,
    inference_health_probes,
    kv_cache_alert,
    lb_health_check_interval,
    mcp_servers_off_gpu,
    min_two_gpu_instances,
    no_plaintext_secrets,
    pod_security_restricted,
    queue_depth_dashboard,
    scale_in_cooldown,
    scale_on_queue_depth,
    scale_out_threshold,
    spot_only_interruptible,
    sqs_dead_letter_queue,
    sqs_encryption,
    task_queue_per_pool,
    ttft_p95_alert,
    user_facing_floor,
    vllm_max_num_seqs_ratio,
)
from policies.metadata import PACK, POLICIES

_MODULES = (
    gpu_tier_matches_latency_class,
    vllm_max_num_seqs_ratio,
    mcp_servers_off_gpu,
    task_queue_per_pool,
    inference_health_probes,
    lb_health_check_interval,
    min_two_gpu_instances,
    scale_on_queue_depth,
    scale_out_threshold,
    scale_in_cooldown,
    user_facing_floor,
    spot_only_interruptible,
    ttft_p95_alert,
    kv_cache_alert,
    queue_depth_dashboard,
    cost_tags_by_tier,
    background_tiers_use_spot,
    cost_budget_alerts,
    sqs_encryption,
    sqs_dead_letter_queue,
    pod_security_restricted,
    no_plaintext_secrets,
    eks_private_endpoint,
    eks_secrets_encryption,
    helm_chart_pinned,
)


def all_policies() -> list[Policy]:
    policies = [module.POLICY for module in _MODULES]
    assert [p.name for p in policies] == list(POLICIES), "pack.py and metadata.py disagree"
    return policies


__all__ = ["PACK", "all_policies"]
