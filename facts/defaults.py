"""Defaults the stack config and the components share that are not checklist numbers
(those are ``facts.checklist``): a new cluster's shape, the fleet's namespace and cost
center, a tier's request timeout and queue, the queue worker's resources. A stack that
leaves a key unset and a stack that imports a component with a field unset get the same."""

from __future__ import annotations

NAMESPACE = "agentfleet"
"""Kubernetes namespace of the fleet."""
COST_CENTER = "agentfleet"
"""Value of the agentfleet.io/cost-center tag."""

REQUEST_TIMEOUT_SECONDS = 300
"""The longest request a tier allows; queue visibility and drains are longer."""
MAX_RECEIVE_COUNT = 5
"""Receives before a message moves to the dead-letter queue."""

WORKER_CPU_MILLIS = 500
WORKER_MEMORY_MIB = 512

KUBERNETES_VERSION = "1.34"
VPC_CIDR = "10.0.0.0/16"
AVAILABILITY_ZONES = 3
SYSTEM_NODE_INSTANCE_TYPE = "m7i.xlarge"
SYSTEM_NODES_MIN = 2
SYSTEM_NODES_MAX = 6

LOAD_BALANCER_IDLE_TIMEOUT_SECONDS = 300
"""How long the ALB keeps an idle connection: long enough for slow streamed responses."""
SERVER_KEEP_ALIVE_SECONDS = LOAD_BALANCER_IDLE_TIMEOUT_SECONDS + 15
"""How long vLLM keeps an idle connection (VLLM_HTTP_TIMEOUT_KEEP_ALIVE; vLLM's own default
is 5 s): longer than the load balancer's idle timeout, so the load balancer closes idle
connections first and never sends a request down one the server is closing (a 502)."""

# Node storage (facts.models sizes the weights): what each vLLM replica keeps beside its
# weights, and what a node needs whatever it serves.
REPLICA_CACHE_EXTRA_GIB = 10
"""Per replica beside the weights: compiled kernels (torch.compile, CUDA graphs), tokenizer."""
UNKNOWN_MODEL_CACHE_GIB = 200
"""Per replica when the model's size is not known."""
NODE_IMAGES_GIB = 40
"""The vLLM image (compressed layers and unpacked) and the worker's, per node."""
NODE_SYSTEM_GIB = 20
"""The OS, kubelet, logs."""
ROOT_VOLUME_GIB = 100
"""The EBS root volume of a GPU node whose data lives on its instance store."""
EBS_MAX_VOLUME_GIB = 16384
"""gp3's largest volume (16 TiB)."""

CLUSTER_AUTOSCALER_IMAGE_TAGS = {"1.33": "v1.33.5", "1.34": "v1.34.4", "1.35": "v1.35.1"}
"""The cluster autoscaler release run on each Kubernetes minor: upstream supports only the
pairing of its minor with the cluster's (autoscaler README, "Releases"); the chart's own
default image follows the newest minor, not the cluster."""

INPUT_TOKENS = 600
"""Tokens one agent interaction sends (the seed's prompt)."""
OUTPUT_TOKENS = 350
"""Tokens one agent interaction gets back (the seed's reply)."""
SESSION_TOKENS = INPUT_TOKENS + OUTPUT_TOKENS
"""KV tokens one agent interaction keeps: the seed's 600 tokens in and 350 out."""

PRIORITY_EXPANDER_CONFIG_MAP = "cluster-autoscaler-priority-expander"
"""The ConfigMap the cluster autoscaler's priority expander reads, in its own namespace."""
BURST_PRIORITY = 50
"""The priority expander's rank for a tier's burst (spot) node group: tried first."""
FLOOR_PRIORITY = 10
"""Its rank for every other node group: the fallback when spot is short."""

SERVICE_SECONDS = 3
"""Seconds one interaction holds a session: the seed's 350 output tokens in about 3 s."""
SLA_TTFT_SECONDS = {"ttft-first": "0.5", "throughput-first": "60"}
"""Time-to-first-token target by latency class: the seed's 500 ms for user-facing agents;
a minute for background work."""

PROMETHEUS_NAMESPACE = "monitoring"
"""Where the kube-prometheus-stack add-on runs: the only namespace that may scrape the
inference pods (their NetworkPolicy)."""

VLLM_VERSION = "0.33.0"
"""The vLLM release agentfleet renders arguments for; pyproject.toml's `vllm` extra pins
the same one, whose parser the tests check the arguments with."""
VLLM_IMAGE = f"vllm/vllm-openai:v{VLLM_VERSION}"
