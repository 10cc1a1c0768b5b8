"""How long a vLLM replica takes to serve from nothing: a GPU node's start, the vLLM image's
pull, the pod's start, the weights' download and vLLM's engine start; and what that asks of
a disruption budget under EKS's node updates. The plan, the components and the simulator
all read these. Standard library only."""

from __future__ import annotations

import math
from collections.abc import Callable

NODE_START_SECONDS = 90.0
"""EC2 start and node join for a GPU instance: Karpenter's maintainers measure 40-80 s from
launch to node registration for general-purpose nodes (aws/karpenter-provider-aws#6128),
and GPU instances boot slower, then wait for NVIDIA's device plugin."""
IMAGE_PULL_SECONDS = 180.0
"""The vLLM image onto a new node: about 10 GB compressed (28.6 GB unpacked), where AWS
measures 4-6 minutes for a 15-20 GB image (most of it unpacking): about 3 minutes."""
POD_START_SECONDS = 30.0
"""Container start and CUDA initialisation, and reading the downloaded weights into GPU
memory."""
HUB_GIB_PER_SECOND = 0.605
"""One vLLM pod's download of its weights from the Hugging Face Hub (huggingface_hub's
default hf_xet path): 0.65 GB/s, what vLLM logged pulling Meta-Llama-3-70B (141 GB in
196 s) on a p5.48xlarge (anyscale/ray-serve-llm-perf-examples, replica_initialization)."""
S3_STREAMER_GIB_PER_SECOND = 2.86
"""One vLLM pod's stream of its weights from S3 in its region with the Run:ai Model Streamer
at ``STREAMER_CONCURRENCY``: Run:ai's benchmark loaded Meta-Llama-3-8B (15 GB) from S3 in
4.88 s at concurrency 32 on a g5.12xlarge (run.ai blog, "Run:ai Model Streamer performance
benchmarks"), 3.07 GB/s. Traffic to S3 in the instance's region (a gateway endpoint) may use
the instance's whole bandwidth, not the internet's share (EC2 user guide, "Amazon EC2
instance network bandwidth")."""
STREAMER_CONCURRENCY = 32
"""The streamer's concurrent reads (``--model-loader-extra-config``); its own default for
object storage is 8, about a quarter of the rate above (AWS's S3 guidance: one request per
85-90 MB/s)."""
STARTUP_PROBE_MARGIN = 2.0
"""The startup probe allows this many times a pod's modelled start before it restarts the
pod: a slow hub or a throttled bucket stretches a start, and a restart begins it again."""
STARTUP_PROBE_FLOOR_SECONDS = 600
"""The least a startup probe allows, whatever the model."""
STARTUP_PROBE_UNKNOWN_SECONDS = 1200
"""What a startup probe allows a model of unknown size (no shape to weigh it by)."""
ENGINE_START = ((8e9, 39.34), (70e9, 91.82))
"""vLLM's engine start after the weights (memory profiling, torch.compile without a cache,
CUDA graph capture, warm-up: its "init engine ... took" line) by the model's parameters:
39.34 s for Llama-3-8B on one GPU (vllm-project/vllm#11005), 91.82 s for Llama-3-70B on
four H100s (the Anyscale logs above); a line through both. The pods' compile cache is an
emptyDir, so every new pod compiles."""
EKS_EVICTION_SECONDS = 15 * 60
"""EKS's managed node update drains a node and fails with PodEvictionFailure when its pods
have not left within 15 minutes (EKS user guide, "Managed node update behavior")."""
EVICTION_SHARE = 0.8
"""The share of EKS's 15 minutes a node's drain is planned to take, the rest a margin."""


def engine_start(parameters: float) -> float:
    """vLLM's engine start for a model of ``parameters`` (``ENGINE_START``'s line)."""
    (low, at_low), (high, at_high) = ENGINE_START
    return max(0.0, at_low + (at_high - at_low) * (parameters - low) / (high - low))


def download_seconds(
    weights_gib: float,
    node_gib_per_second: float = math.inf,
    together: int = 1,
    download_gib_per_second: float = HUB_GIB_PER_SECOND,
) -> float:
    """A pod's download of its weights, ``together`` pods of the node downloading at once:
    each at its own rate or its share of what the node may draw."""
    rate = min(download_gib_per_second, node_gib_per_second / max(together, 1))
    return weights_gib / rate


def pod_start(
    weights_gib: float, parameters: float, node_gib_per_second: float = math.inf, together: int = 1
) -> float:
    """A pod's start on a ready node that has the image."""
    downloads = download_seconds(weights_gib, node_gib_per_second, together)
    return POD_START_SECONDS + downloads + engine_start(parameters)


def startup_probe_seconds(start: float) -> int:
    """The startup probe's budget for a pod whose start is modelled at ``start`` seconds:
    ``STARTUP_PROBE_MARGIN`` times it, at least ``STARTUP_PROBE_FLOOR_SECONDS``, in whole
    ten-second probe periods."""
    budget = max(STARTUP_PROBE_FLOOR_SECONDS, STARTUP_PROBE_MARGIN * start)
    return int(math.ceil(budget / 10) * 10)


def disruption_budget(on_node: int, replacement: Callable[[int], float]) -> int:
    """The fewest of a node's ``on_node`` replicas a disruption budget lets go at once for
    the node to drain within EKS's limit (``EVICTION_SHARE`` of it): each round of ``k``
    evictions waits for ``replacement(k)`` seconds, the ``k`` replacements' start on the
    update's new nodes. The whole node at once where no fewer fit."""
    for budget in range(1, on_node + 1):
        rounds = math.ceil(on_node / budget)
        if rounds * replacement(budget) <= EVICTION_SHARE * EKS_EVICTION_SECONDS:
            return budget
    return on_node
