"""A tier's start-up as its plan implies it (``facts.startup``'s model on the tier's model
and instance): how long a new node and a new replica take, what a node update's
replacements take, and the disruption budget that lets a node drain within EKS's limit."""

from __future__ import annotations

from dataclasses import dataclass

from facts import startup
from facts.catalog import NETWORK_GBPS, internet_gbps
from facts.vllm_memory import GIB
from infra.plan import TierPlan


@dataclass(frozen=True)
class Startup:
    weights_gib: float
    """The weights each new pod downloads."""
    parameters: float
    node_gib_per_second: float
    """What one of the tier's nodes may draw from the weights' source: the internet's share
    of its bandwidth for the model hub, all of it for S3 in its region."""
    download_gib_per_second: float = startup.HUB_GIB_PER_SECOND
    """One pod's download rate from the source, alone on its node."""
    known: bool = True
    """Whether the model's size is known (its shape); unknown, its weights count as none."""

    @property
    def fixed(self) -> float:
        """A pod's start less its download: the container, CUDA, vLLM's engine start."""
        return startup.POD_START_SECONDS + startup.engine_start(self.parameters)

    def pod(self, together: int = 1) -> float:
        """A pod's start on a node that has the image, ``together`` of the node's pods
        downloading at once."""
        downloads = startup.download_seconds(
            self.weights_gib, self.node_gib_per_second, together, self.download_gib_per_second
        )
        return self.fixed + downloads

    def replacement(self, together: int = 1) -> float:
        """A replica evicted by a node update, replaced on one of the update's new nodes:
        the image's pull there, then ``together`` pods' start."""
        return startup.IMAGE_PULL_SECONDS + self.pod(together)

    @property
    def node(self) -> float:
        """A new GPU node up, with the vLLM image pulled."""
        return startup.NODE_START_SECONDS + startup.IMAGE_PULL_SECONDS

    @property
    def time_to_ready(self) -> float:
        """From nothing to a serving replica: a new node, then the pod."""
        return self.node + self.pod()

    def startup_probe_seconds(self, on_node: int) -> int:
        """What the startup probe allows a pod: a node's ``on_node`` pods starting at once,
        with a margin (``facts.startup.startup_probe_seconds``); a model of unknown size,
        ``STARTUP_PROBE_UNKNOWN_SECONDS``."""
        if not self.known:
            return startup.STARTUP_PROBE_UNKNOWN_SECONDS
        return startup.startup_probe_seconds(self.pod(on_node))

    def disruption_budget(self, on_node: int) -> int:
        """Replicas of a node that may go at once so that the node drains in time."""
        return startup.disruption_budget(on_node, self.replacement)


def tier_startup(tier: TierPlan) -> Startup:
    """The tier's start-up: its model's weights from the Hub over the internet, or from S3
    in its region with the streamer (``weights_in_s3``)."""
    model, instance = tier.fit.model, tier.instance
    if tier.weights_in_s3:
        gbps = NETWORK_GBPS.get(instance.name, internet_gbps(instance))
        rate = startup.S3_STREAMER_GIB_PER_SECOND
    else:
        gbps, rate = internet_gbps(instance), startup.HUB_GIB_PER_SECOND
    return Startup(
        weights_gib=0.0 if model is None else model.weight_bytes / GIB,
        parameters=0.0 if model is None else float(model.parameters),
        node_gib_per_second=gbps * 1e9 / 8 / GIB,
        download_gib_per_second=rate,
        known=model is not None,
    )
