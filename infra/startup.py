"""A tier's start-up as its plan implies it (``facts.startup``'s model on the tier's model
and instance): how long a new node and a new replica take, what a node update's
replacements take, and the disruption budget that lets a node drain within EKS's limit."""

from __future__ import annotations

from dataclasses import dataclass

from facts import startup
from facts.catalog import internet_gbps
from facts.vllm_memory import GIB
from infra.plan import TierPlan


@dataclass(frozen=True)
class Startup:
    weights_gib: float
    """The weights each new pod downloads."""
    parameters: float
    node_gib_per_second: float
    """What one of the tier's nodes may draw from the internet (the model hub)."""

    @property
    def fixed(self) -> float:
        """A pod's start less its download: the container, CUDA, vLLM's engine start."""
        return startup.POD_START_SECONDS + startup.engine_start(self.parameters)

    def pod(self, together: int = 1) -> float:
        """A pod's start on a node that has the image, ``together`` of the node's pods
        downloading at once."""
        downloads = startup.download_seconds(self.weights_gib, self.node_gib_per_second, together)
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

    def disruption_budget(self, on_node: int) -> int:
        """Replicas of a node that may go at once so that the node drains in time."""
        return startup.disruption_budget(on_node, self.replacement)


def tier_startup(tier: TierPlan) -> Startup:
    model = tier.fit.model
    return Startup(
        weights_gib=0.0 if model is None else model.weight_bytes / GIB,
        parameters=0.0 if model is None else float(model.parameters),
        node_gib_per_second=internet_gbps(tier.instance) * 1e9 / 8 / GIB,
    )
