"""The offline engine: what stands in for the Pulumi engine and CLI on a machine with
neither, so tests and `agentfleet plan` see exactly what `pulumi preview` would be asked to
create and what the policy pack would say of it.

- ``mocks``: Pulumi's mock runtime with a monitor that records every registration, and
  offline answers for the outputs and invokes the components read; runs the program;
- ``policy_client``: the policy pack started as the Pulumi CLI starts it, and a client
  of its analyzer protocol;
- ``preview``: both together, the offline preview behind `agentfleet plan`;
- ``manifests``: recorded Kubernetes inputs as the manifests `kubectl apply` would read.

May import: ``facts``, ``components`` (the tier token), the rest of ``infra``, pulumi
and grpc; never ``policies`` (the pack runs in its own process, as under the CLI).
"""
