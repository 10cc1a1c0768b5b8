"""The Secrets of a tier's pods: the Hugging Face token, and the vLLM API key.

Each tier's vLLM API key is a random token in a Secret, which vLLM reads from
VLLM_API_KEY (its ``--api-key``, kept out of the command line) and the tier's queue worker
and MCP servers send as ``Authorization: Bearer``.

vLLM checks the key only on its API's paths (/v1 and a few other prefixes; /health and
/metrics stay open for the load balancer's checks and Prometheus), so the key is a second
lock: the pods' NetworkPolicy decides who can reach the port at all."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

ENV = "VLLM_API_KEY"
"""The variable vLLM reads its key from; the worker reads the same."""
KEY = "api-key"
"""The key of the Secret's entry."""
LENGTH = 48
"""Characters of [A-Za-z0-9]: 285 bits."""


def secret_name(tier: str) -> str:
    return f"{tier}-vllm-api-key"


def api_key_secret(
    name: str,
    tier: str,
    namespace: str,
    labels: dict[str, str],
    opts: pulumi.ResourceOptions,
) -> k8s.core.v1.Secret:
    """A random key (made once, kept in the stack's state as a secret) in the Secret
    ``<tier>-vllm-api-key`` of ``namespace``."""
    token = random.RandomPassword(f"{name}-api-key", length=LENGTH, special=False, opts=opts)
    return k8s.core.v1.Secret(
        f"{name}-api-key",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=secret_name(tier), namespace=namespace, labels=labels
        ),
        type="Opaque",
        string_data={KEY: token.result},
        opts=opts,
    )


def hf_token_secret(
    name: str,
    object_name: str,
    namespace: str,
    labels: dict[str, str],
    token: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> k8s.core.v1.Secret:
    """The Hugging Face token in a Secret of its own (``<object_name>-hf-token``)."""
    return k8s.core.v1.Secret(
        f"{name}-hf-token",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=f"{object_name}-hf-token", namespace=namespace, labels=labels
        ),
        type="Opaque",
        string_data={"token": pulumi.Output.secret(token)},
        opts=opts,
    )


def token_env(secret: k8s.core.v1.Secret) -> k8s.core.v1.EnvVarArgs:
    """HF_TOKEN from the Secret, never in plain env."""
    return k8s.core.v1.EnvVarArgs(
        name="HF_TOKEN",
        value_from=k8s.core.v1.EnvVarSourceArgs(
            secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=secret.metadata.name, key="token")
        ),
    )


def api_key_env(secret: str) -> k8s.core.v1.EnvVarArgs:
    """VLLM_API_KEY from the Secret named ``secret``, never in plain env."""
    return k8s.core.v1.EnvVarArgs(
        name=ENV,
        value_from=k8s.core.v1.EnvVarSourceArgs(
            secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=secret, key=KEY)
        ),
    )
