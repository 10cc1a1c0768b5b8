"""The names of what a tier's components declare, each made here once: the components
name their children with these functions, and whoever must find a child again (the
simulator reading the rendered ScaledObject and node groups, tests) calls the same ones.

Resource names are public: a changed one replaces the resource on the next deployment, so
a change here needs an alias in the component and a note in the changelog."""

from __future__ import annotations

from facts.mig import slug


def shape(tier: str, profile: str | None, shapes: int) -> str:
    """A replica shape's component name: the tier's when it has one shape, else
    ``<tier>-<profile>`` (``gpu`` for whole GPUs beside MIG slices)."""
    if shapes == 1:
        return tier
    return f"{tier}-{slug(profile or 'gpu')}"


def part(tier: str, part: str | None) -> str:
    """The name of a tier's queue and workers: the tier's own (``part`` None), or
    ``<tier>-<part>`` for a co-resident model's."""
    return f"{tier}-{part}" if part else tier


def burst_pool(tier: str) -> str:
    """The node pool a tier bursts onto above its on-demand floor."""
    return f"{tier}-burst"


def overflow_pool(tier: str) -> str:
    """Under Karpenter, the NodePool of a bursting tier's on-demand nodes between its
    floor and its ceiling."""
    return f"{tier}-overflow"


def karpenter_node_pool(pool: str) -> str:
    """A node pool's Karpenter NodePool (the resource; its Kubernetes name is ``pool``)."""
    return f"{pool}-node-pool"


def karpenter_node_class(pool: str) -> str:
    """A node pool's EC2NodeClass (the resource; its Kubernetes name is ``pool``)."""
    return f"{pool}-node-class"


def node_group(pool: str) -> str:
    """A node pool's EKS managed node group (``<tier>-nodes``, ``<tier>-burst-nodes``)."""
    return f"{pool}-nodes"


def launch_template(pool: str) -> str:
    return f"{pool}-launch-template"


def scaled_object(shape: str) -> str:
    """A shape's KEDA ScaledObject (the resource, as the engine names it)."""
    return f"{shape}-scaled-object"


def trigger_authentication(shape: str) -> str:
    return f"{shape}-trigger-auth"


def scaling_object(shape: str) -> str:
    """The Kubernetes name of a shape's ScaledObject and TriggerAuthentication."""
    return f"{shape}-queue-depth"


def keda_role(shape: str) -> str:
    return f"{shape}-keda-role"


def keda_role_policy(shape: str) -> str:
    return f"{shape}-keda-policy"


def vllm(shape: str) -> str:
    """A shape's vLLM component, and the Kubernetes name of its Deployment and Service."""
    return f"{shape}-vllm"


def queue(part: str) -> str:
    """A queue component's SQS task queue (the resource)."""
    return f"{part}-queue"


def dead_letter_queue(part: str) -> str:
    return f"{part}-dlq"


def queue_worker_account(part: str) -> str:
    """The Kubernetes ServiceAccount a part's queue workers run as."""
    return f"{part}-queue-worker"
