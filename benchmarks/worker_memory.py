"""The queue worker's memory per request in flight, at its worst: each holding the largest
answer it reads (max_reply_bytes of a chat completion with 5 log-probabilities a token, the
most the protocol admits), decoded, and its reply serialised for SQS.

    .venv/bin/python benchmarks/worker_memory.py [--in-flight N] [--reply-bytes B]

Measures the process's resident set (VmRSS, what the kernel's OOM killer counts) after
importing what the worker imports, then after holding N such requests at once. Prints the
base, the growth per request, and the limit a worker of N in flight needs. Never part of
the test run.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bridge.answers import decode
from bridge.protocol import MAX_MESSAGE_BYTES, Reply, reply_message
from facts.worker import MAX_LOGPROBS

QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/agents-prod-replies-a"


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def answer(limit: int, salt: int) -> bytes:
    """A chat completion as vLLM answers with logprobs, tokens added until the JSON is
    just under ``limit`` bytes."""
    content, tokens = [], []
    step = 0
    while True:
        token = f"tok{salt}-{step}"
        top = [{"token": f"{token}~{k}", "logprob": -0.1 * (k + 1), "bytes": [116, 111, 107]}
               for k in range(MAX_LOGPROBS)]  # fmt: skip
        tokens.append({"token": token, "logprob": -0.05, "bytes": [116, 111, 107],
                       "top_logprobs": top})  # fmt: skip
        content.append(token)
        step += 1
        if step % 64 == 0:
            body = _body(content, tokens)
            if len(body) > limit:
                tokens, content = tokens[:-64], content[:-64]
                return _body(content, tokens)


def _body(content: list[str], tokens: list[dict[str, object]]) -> bytes:
    return json.dumps({
        "id": "chatcmpl-x", "object": "chat.completion", "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": " ".join(content)},
                     "logprobs": {"content": tokens}, "finish_reason": "length"}],
    }).encode()  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--in-flight", type=int, default=200)
    parser.add_argument("--reply-bytes", type=int, default=MAX_MESSAGE_BYTES)
    args = parser.parse_args()
    import aiobotocore.session  # noqa: F401 - what the worker imports, for its base
    import aiohttp  # noqa: F401

    base = rss_mib()
    held = []
    for index in range(args.in_flight):
        payload = answer(args.reply_bytes, index)
        body = decode(payload)
        params = reply_message(Reply(f"r{index}", "ok", 200, response=body), QUEUE)
        held.append((payload, body, params))
    grown = rss_mib() - base
    per = grown / args.in_flight
    print(f"machine: {platform.machine()}, Python {platform.python_version()}")
    print(f"answer: {len(held[0][0]):,} bytes ({args.reply_bytes:,} allowed)")
    print(f"base RSS (imports): {base:.1f} MiB")
    print(f"{args.in_flight} in flight: +{grown:.1f} MiB, {per:.2f} MiB a request")


if __name__ == "__main__":
    main()
