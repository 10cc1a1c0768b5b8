"""Adding a GPU is the catalog's recipe and nothing more: a made-up B200 registered the way
the recipe says (one catalog entry, one MIG geometry, one AWS price) is taken up by the stack
config, the planner, the program, the policies and the docs. In a fresh interpreter, so the
entry is there before anything reads the catalog, as it is for a real one."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.helpers import REPO

pytestmark = pytest.mark.integration  # a fresh interpreter that builds the whole program

PROBE = textwrap.dedent(
    """
    from decimal import Decimal

    from facts import aws_prices, catalog, mig

    # The recipe: one catalog entry, its MIG geometry (it has MIG) and AWS's price for its
    # instance type.
    aws_prices._US["p6-b200.48xlarge"] = Decimal("113.9328")
    mig._MODELS["B200-180GB"] = mig._model("B200-180GB", 23, 45, 90, 180, "22 44 89 178")
    catalog._GPUS["b200"] = catalog.Gpu(
        key="b200",
        name="B200 SXM6",
        gpu_class="B200",
        memory_gb=180,
        interactions_per_gpu=160,
        on_demand_price=Decimal("6.75"),
        spot_price=None,
        latency_class="ttft-first",
        mig_model="B200-180GB",
        instance_types=(catalog.InstanceType("p6-b200.48xlarge", 8, 192, 2048),),
        default_instance_type="p6-b200.48xlarge",
        device_memory_gib=Decimal("178"),
    )

    from facts.resource_types import NODE_GROUP
    from infra.config import ConfigError, TierConfig, parse_stack_config
    from infra.offline.mocks import run_program
    from infra.plan import plan_fleet
    from policies.pack import metadata
    from tests.helpers import stack_values
    from tests.policies.support import as_engine_sends, check_resource, policy

    # Config: the new key is accepted, its MIG layout checked, and the descriptions name it.
    values = stack_values("prod")
    orchestrator = values["agentfleet:fleet"]["tiers"]["orchestrator"]
    orchestrator["gpu"] = "b200"
    parse_stack_config(values)
    orchestrator["mig"] = {"7g.180gb": 2}
    try:
        parse_stack_config(values)
        raise AssertionError("a MIG layout that does not fit was accepted")
    except ConfigError as error:
        assert "needs 14 compute slices; b200 has 7" in str(error), error
    orchestrator["mig"] = {"3g.90gb": 2}
    config = parse_stack_config(values)
    described = TierConfig.model_fields
    assert "b200" in described["gpu"].description, described["gpu"].description
    assert "b200 160" in described["concurrency_per_gpu"].description
    assert "b200 p6-b200.48xlarge" in described["instance_type"].description
    assert "B200" in described["gpu"].description

    # Plan: 160 interactions a GPU, 3/7 of them a 3g.90gb slice, 8 GPUs an instance.
    tier = plan_fleet(config).tier("orchestrator")
    (group,) = tier.replica_groups
    assert (tier.instance.name, tier.instance.gpus) == ("p6-b200.48xlarge", 8)
    assert (group.resource, group.sessions_per_replica) == ("nvidia.com/mig-3g.90gb", 68)
    assert tier.needed_gpus == 4, tier.needed_gpus  # ceil(500 / (2 x 68))
    assert tier.on_demand_price == Decimal("113.9328") / 8  # AWS's, per GPU

    # Program and policies: the node group carries it, and C1 judges it by the catalog.
    registrations, _ = run_program(values, stack="prod")
    (nodes,) = [r for r in registrations if r.name == "orchestrator-nodes"]
    assert nodes.inputs["instanceTypes"] == ["p6-b200.48xlarge"]
    c1 = policy("gpu-tier-matches-latency-class")
    props = as_engine_sends(nodes.inputs)
    assert check_resource(c1, NODE_GROUP, props) == []
    props["labels"]["agentfleet.io/latency-class"] = "throughput-first"
    (found,) = check_resource(c1, NODE_GROUP, props)
    assert found.startswith("throughput-first tier on p6-b200.48xlarge (B200); want"), found
    assert "TTFT-first tiers on H100 or B200 GPUs" in metadata()[c1.name].description

    # Docs: the catalog page and the stack-file reference, as their generators write them.
    from tools import catalog_reference, stack_reference

    catalog_page = catalog_reference.render()
    assert "| `b200` | B200 SXM6 | B200 | 180 GB | 160 | 6.75 | none | yes |" in catalog_page
    assert "b200" in stack_reference.render()
    print("taken up")
    """
)


def test_a_made_up_gpu_is_taken_up_everywhere() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("taken up")
