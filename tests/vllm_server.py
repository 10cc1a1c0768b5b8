"""Answer many orders in one process of vLLM's virtualenv, which imports vLLM once.

Runs in the vLLM virtualenv (python3 tasks.py test makes it), never in the package's:
`tests.helpers.VllmProcess` starts it. Reads one JSON object a line on stdin, {"script":
path, "order": order}; loads each script once (a module of tests/ for vLLM's virtualenv,
with an ``answer(order)`` function), answers the order and puts the environment back as it
was, and writes one JSON line on the stdout it started with: {"answer": ...} or {"error":
traceback}. Whatever else is printed (vLLM logs to stdout) goes to stderr."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import traceback
from types import ModuleType

os.environ.setdefault("VLLM_TARGET_DEVICE", "cpu")


def load(path: str, loaded: dict[str, ModuleType]) -> ModuleType:
    """The script at ``path`` as a module, imported on its first order."""
    if path not in loaded:
        spec = importlib.util.spec_from_file_location(f"vllm_order_{len(loaded)}", path)
        if spec is None or spec.loader is None:
            raise ImportError(path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        loaded[path] = module
    return loaded[path]


def reply(line: str, loaded: dict[str, ModuleType]) -> str:
    """The JSON line that answers the order on ``line``; the order's changes to the
    environment (and vLLM's cache of it) undone, as if each order had a process of its own."""
    saved = dict(os.environ)
    try:
        request = json.loads(line)
        return json.dumps({"answer": load(request["script"], loaded).answer(request["order"])})
    except (Exception, SystemExit):
        return json.dumps({"error": traceback.format_exc()})
    finally:
        os.environ.clear()
        os.environ.update(saved)
        envs = sys.modules.get("vllm.envs")
        if envs is not None:
            envs.disable_envs_cache()


def main() -> None:
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # prints and logs: to stderr
    loaded: dict[str, ModuleType] = {}
    for line in sys.stdin:
        if line.strip():
            answers.write(reply(line, loaded) + "\n")
            answers.flush()
    # stdin closed: every answer is written; skip the ~2 s the interpreter takes to tear
    # vLLM and torch down
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
