"""Check vLLM server argument lists with vLLM's own parser and config classes.

Runs in the vLLM virtualenv (python3 tasks.py test makes it), never in the package's:
``answer`` takes a list of argv lists (tests/vllm_server.py's order, or JSON on stdin when
run as a script, which prints its answer) and gives a list of results, one per argv:
{"ok": true, "shutdown_timeout": N, "load_format": F, "served_model_name": [S]}
or {"ok": false, "error": "..."}. Needs no GPU and no
model download.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys

os.environ.setdefault("VLLM_TARGET_DEVICE", "cpu")

from vllm.config import CacheConfig, ParallelConfig, SchedulerConfig
from vllm.engine.arg_utils import AsyncEngineArgs
from vllm.entrypoints.common.cli_args import (
    make_arg_parser,
    validate_parsed_serve_args,
)
from vllm.model_executor.model_loader.runai_streamer_loader import RunaiModelStreamerLoader
from vllm.transformers_utils.runai_utils import is_runai_obj_uri
from vllm.utils.argparse_utils import FlexibleArgumentParser

OBJECT_STORE_FORMATS = ("modelexpress", "runai_streamer", "runai_streamer_sharded")
"""What VllmConfig accepts for a model in object storage (vllm/config/vllm.py)."""


def check(parser: FlexibleArgumentParser, argv: list[str]) -> dict[str, object]:
    """What `vllm serve <argv>` would do with these arguments before loading a model."""
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors):
            args = parser.parse_args(argv)
        if args.model_tag is not None:  # as `vllm serve` does
            args.model = args.model_tag
        validate_parsed_serve_args(args)
        engine = AsyncEngineArgs.from_cli_args(args)
        # Ranges are enforced only by the config classes the engine builds.
        CacheConfig(gpu_memory_utilization=engine.gpu_memory_utilization)
        ParallelConfig(tensor_parallel_size=engine.tensor_parallel_size)
        SchedulerConfig(
            max_num_seqs=engine.max_num_seqs or 128,
            max_model_len=engine.max_model_len or 8192,
            is_encoder_decoder=False,
            # vLLM refuses a step budget below --max-num-seqs
            **({"max_num_batched_tokens": engine.max_num_batched_tokens}
               if engine.max_num_batched_tokens else {}),
        )  # fmt: skip
        load = engine.create_load_config()
        # VllmConfig's rule for a model in object storage, and the streamer loader's own
        # checks of its extra config (it imports the streamer only when it loads).
        if is_runai_obj_uri(engine.model) and load.load_format not in OBJECT_STORE_FORMATS:
            raise ValueError(f"a model in object storage needs one of {OBJECT_STORE_FORMATS}")
        if str(load.load_format).startswith("runai_streamer"):
            RunaiModelStreamerLoader(load)
    except SystemExit:
        return {"ok": False, "error": errors.getvalue().strip().splitlines()[-1]}
    except Exception as error:
        return {"ok": False, "error": f"{type(error).__name__}: {error}"}
    # what the engine does with its running requests at SIGTERM (0: aborts them)
    return {
        "ok": True,
        "shutdown_timeout": engine.shutdown_timeout,
        "load_format": str(load.load_format),
        "max_logprobs": engine.max_logprobs,
        "served_model_name": engine.served_model_name,
        # the model's revision; ModelConfig gives the tokenizer the same one by default
        "revision": engine.revision,
        "tokenizer_revision": engine.tokenizer_revision,
    }


def answer(argvs: list[list[str]]) -> list[dict[str, object]]:
    """What `vllm serve` would do with each argv (check)."""
    serve = make_arg_parser(FlexibleArgumentParser(prog="vllm serve", allow_abbrev=False))
    return [check(serve, argv) for argv in argvs]


if __name__ == "__main__":
    print(json.dumps(answer(json.load(sys.stdin))))
