"""vLLM's answers as the worker takes them: read no further than a reply may carry,
decoded, and the error text out of an error body."""

from __future__ import annotations

import json
from typing import Any

import aiohttp


async def read_at_most(response: aiohttp.ClientResponse, limit: int) -> bytes | None:
    """vLLM's answer, read a chunk at a time; None, and the connection dropped, once it
    passes ``limit`` bytes: an answer shaped to be huge (logprobs, n, a list of prompts)
    never sits whole in the sidecar's memory, let alone parsed and serialised again."""
    if response.content_length is not None and response.content_length > limit:
        response.close()
        return None
    chunks, size = [], 0
    async for chunk in response.content.iter_chunked(65_536):
        size += len(chunk)
        if size > limit:
            response.close()
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def decode(payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except ValueError:
        return payload.decode(errors="replace")


def error_message(body: Any) -> str:
    """vLLM's error text: ``{"error": {"message"}}``, ``{"message"}`` or plain text."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        if isinstance(body.get("message"), str):
            return str(body["message"])
        if isinstance(body.get("detail"), str):
            return str(body["detail"])
    return str(body)[:2000]
