"""Every generated page of the docs site, written whole by its generator.

    python -m tools.docs           # write every page that changed
    python -m tools.docs --check   # exit 1 naming the pages that are out of date

The drift tests walk ``PAGES``: a page's file must be what its generator renders now.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from tools import (
    catalog_reference,
    components_reference,
    policy_reference,
    stack_reference,
    worker_reference,
)
from tools.markdown import ROOT

PAGES: dict[Path, Callable[[], str]] = {
    stack_reference.PAGE: stack_reference.render,
    components_reference.PAGE: components_reference.render,
    catalog_reference.PAGE: catalog_reference.render,
    worker_reference.PAGE: worker_reference.render,
    policy_reference.PAGE: policy_reference.render,
}


def stale() -> list[Path]:
    """The pages whose file is not what their generator renders now."""
    return [
        page
        for page, render in PAGES.items()
        if not page.is_file() or page.read_text(encoding="utf-8") != render()
    ]


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    out_of_date = stale()
    if arguments == ["--check"]:
        for page in out_of_date:
            print(f"out of date: {page.relative_to(ROOT)}", file=sys.stderr)
        return 1 if out_of_date else 0
    if arguments:
        print("usage: python -m tools.docs [--check]", file=sys.stderr)
        return 2
    for page in out_of_date:
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(PAGES[page](), encoding="utf-8")
        print(f"wrote {page.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
