"""The GPU catalog page (``docs/reference/gpu-catalog.md``): a row per GPU of
``facts.catalog``. ``python -m tools.catalog_reference`` writes it."""

from __future__ import annotations

from facts.catalog import CATALOG
from tools.markdown import REFERENCE, generated_by

PAGE = REFERENCE / "gpu-catalog.md"


def table() -> str:
    lines = [
        "| key | GPU | class | memory | interactions/GPU | on-demand $/h | spot $/h | MIG "
        "| default instance | instance families |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for gpu in CATALOG.values():
        default = gpu.instance_type(gpu.default_instance_type)
        spot = gpu.spot_price if gpu.spot_price is not None else "none"
        lines.append(
            f"| `{gpu.key}` | {gpu.name} | {gpu.gpu_class} | {gpu.memory_gb} GB | "
            f"{gpu.interactions_per_gpu} | {gpu.on_demand_price} | {spot} | "
            f"{'yes' if gpu.supports_mig else 'no'} | {default.name} ({default.gpus}) | "
            f"{', '.join(gpu.instance_families)} |"
        )
    return "\n".join(lines)


def render() -> str:
    return "\n\n".join([
        "# GPU catalog",
        generated_by("tools.catalog_reference", "`facts/catalog.py`"),
        "The GPUs a tier's `gpu` may name. *interactions/GPU* is how many concurrent agent "
        "interactions one GPU serves when the plan has nothing better to go by (a tier's "
        "`concurrencyPerGpu` overrides it, and a model whose KV cache holds fewer lowers "
        "it: [Will it fit?](../will-it-fit.md)); the default instance's GPU count is in "
        "brackets. How the catalog's numbers become GPUs and dollars is in "
        "[Capacity and cost](../capacity-and-cost.md).",
        table(),
    ]) + "\n"  # fmt: skip


def main() -> None:
    PAGE.write_text(render(), encoding="utf-8")


if __name__ == "__main__":
    main()
