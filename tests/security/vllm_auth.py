"""Ask vLLM's own API server middleware who it lets in.

Runs in the vLLM virtualenv (python3 tasks.py test makes it), never in the package's.
``answer`` takes an order {"argv": [...], "env": {...}, "requests": [[method, path,
{header: value}], ...]} (tests/vllm_server.py's, or JSON on stdin when run as a script,
which prints its answer): parses argv with `vllm serve`'s parser, sets the environment,
installs the middleware exactly as vLLM's API server does, and answers each request from
an app where every path exists (200). Gives the list of the status codes."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

os.environ.setdefault("VLLM_TARGET_DEVICE", "cpu")

from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.responses import PlainTextResponse
from vllm.entrypoints.common.cli_args import make_arg_parser
from vllm.entrypoints.serve.middleware.register import init_entrypoints_middleware
from vllm.utils.argparse_utils import FlexibleArgumentParser


def answer(order: dict[str, Any]) -> list[int]:
    """The status vLLM's middleware gives each of the order's requests."""
    os.environ.update(order["env"])
    args = make_arg_parser(FlexibleArgumentParser()).parse_args(order["argv"])
    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "POST"])  # type: ignore[untyped-decorator]
    async def anything(path: str) -> PlainTextResponse:
        return PlainTextResponse(path)

    init_entrypoints_middleware(args, app, ())
    client = TestClient(app)
    return [
        client.request(method, path, headers=headers, json={}).status_code
        for method, path, headers in order["requests"]
    ]


if __name__ == "__main__":
    print(json.dumps(answer(json.loads(sys.stdin.read()))))
