"""The facts every part of agentfleet agrees on, each written once: the GPU catalog
(``facts.catalog``), NVIDIA's MIG geometry (``facts.mig``), the label, tag and annotation
keys components write and policies read (``facts.labels``), the checklist's thresholds and
defaults (``facts.checklist``), the queue worker's settings and their environment
variables (``facts.worker``), the resource type tokens (``facts.resource_types``), money
rounding (``facts.money``) and what KEDA and the HPA do with a ScaledObject
(``facts.autoscaling``).

The bottom floor: plain data and plain functions, standard library only. It may import
nothing of agentfleet's but itself, so components, policies, the queue bridge and infra
can all import it, and the policy pack and the worker image stay light.
"""

__version__ = "0.1.0"  # pyproject.toml's version; tests/test_repository.py keeps them equal
