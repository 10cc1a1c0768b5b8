"""``agentfleet-worker`` (also ``agentfleet worker``) and ``agentfleet submit``: their
arguments and their runs. ``run_worker`` is the worker's own console script, the image's
entry point: importing this module loads nothing of Pulumi's, nor pyyaml.

Exit status: 0 success; 1 the request failed (``submit``: an error reply or none in
time; ``worker``: it could not start); 2 invalid input, named by flag and variable.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from bridge.protocol import APIS
from facts.worker import SETTINGS as WORKER_SETTINGS

if TYPE_CHECKING:
    from bridge.settings import WorkerSettings

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID = 2


def add_worker_arguments(parser: argparse.ArgumentParser) -> None:
    for setting in WORKER_SETTINGS:
        parser.add_argument(
            setting.flag,
            dest=setting.field,
            metavar=setting.field.split("_")[-1].upper(),
            help=f"{setting.help}; env {setting.env}",
        )
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING"])


def add_submit_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--queue-url", required=True, help="the tier's SQS queue URL")
    parser.add_argument(
        "--api", default="chat.completions", choices=APIS, help="default chat.completions"
    )
    body = parser.add_mutually_exclusive_group(required=True)
    body.add_argument("--body", help="the OpenAI-compatible request, as JSON")
    body.add_argument(
        "--body-file", type=Path, metavar="FILE", help="the request as a JSON file ('-': stdin)"
    )
    parser.add_argument("--request-id", help="default: a new random id")
    parser.add_argument("--reply-to", metavar="URL", help="the SQS queue the reply goes to")
    parser.add_argument(
        "--wait",
        type=float,
        metavar="SECONDS",
        help="wait this long for the reply on --reply-to and print it",
    )
    parser.add_argument("--region", help="AWS region (default: the SDK's)")
    parser.add_argument("--endpoint-url", help="SQS endpoint URL (default: AWS's)")


def worker_settings(args: argparse.Namespace, environ: Mapping[str, str]) -> WorkerSettings:
    """The WorkerSettings from flags, then environment; ValueError names the flag and
    variable of each bad value."""
    from bridge.settings import WorkerSettings

    given: dict[str, str] = {}
    for setting in WORKER_SETTINGS:
        value = getattr(args, setting.field, None)
        if value is None:
            value = environ.get(setting.env) or None
        if value is not None:
            given[setting.field] = value
    by_field = {setting.field: setting for setting in WORKER_SETTINGS}
    if "queue_url" not in given:
        raise ValueError("--queue-url (AGENTFLEET_QUEUE_URL): required")
    try:
        return WorkerSettings.model_validate(given)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            where = by_field.get(str(item["loc"][0])) if item["loc"] else None
            name = f"{where.flag} ({where.env})" if where else "--queue-url (AGENTFLEET_QUEUE_URL)"
            problems.append(f"{name}: {item['msg'].removeprefix('Value error, ')}")
        raise ValueError("\n".join(problems)) from None


def worker(args: argparse.Namespace) -> int:
    from bridge.settings import WorkerError
    from bridge.worker import serve

    try:
        settings = worker_settings(args, os.environ)
    except ValueError as error:
        print(f"agentfleet worker: invalid settings\n{error}", file=sys.stderr)
        return EXIT_INVALID
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    try:
        asyncio.run(serve(settings))
    except WorkerError as error:
        print(f"agentfleet worker: {error}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _request_body(args: argparse.Namespace) -> dict[str, Any]:
    if args.body is not None:
        text, source = args.body, "--body"
    else:
        source = f"--body-file {args.body_file}"
        try:
            text = sys.stdin.read() if str(args.body_file) == "-" else args.body_file.read_text()
        except OSError as error:
            raise ValueError(f"{source}: cannot read: {error.strerror}") from None
    try:
        body = json.loads(text)
    except ValueError as error:
        raise ValueError(f"{source}: not valid JSON: {error}") from None
    if not isinstance(body, dict):
        raise ValueError(f"{source}: must be a JSON object (an OpenAI-compatible request)")
    return body


def submit(args: argparse.Namespace) -> int:
    from bridge.protocol import check_queue_url, check_request_id

    try:
        body = _request_body(args)
        check_queue_url(args.queue_url)
        if args.reply_to:
            check_queue_url(args.reply_to)
        if args.request_id is not None:
            check_request_id(args.request_id)
        if args.wait is not None and not args.reply_to:
            raise ValueError("--wait needs --reply-to: the queue the reply comes back on")
        if args.wait is not None and args.wait <= 0:
            raise ValueError("--wait must be above 0 seconds")
    except ValueError as error:
        print(f"agentfleet submit: {error}", file=sys.stderr)
        return EXIT_INVALID
    return asyncio.run(_submit(args, body))


async def _submit(args: argparse.Namespace, body: dict[str, Any]) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from bridge.client import QueueClient

    try:
        async with QueueClient.connect(
            region=args.region, endpoint_url=args.endpoint_url
        ) as client:
            request_id = await client.submit(
                args.queue_url,
                body,
                api=args.api,
                reply_to=args.reply_to,
                request_id=args.request_id,
            )
            if args.wait is None:
                print(json.dumps({"requestId": request_id}))
                return EXIT_OK
            replies = await client.replies(args.reply_to, [request_id], timeout=args.wait)
    except (BotoCoreError, ClientError) as error:
        print(f"agentfleet submit: {error}", file=sys.stderr)
        return EXIT_FAILED
    reply = replies.get(request_id)
    if reply is None:
        print(
            f"agentfleet submit: no reply to {request_id} within {args.wait:g} s", file=sys.stderr
        )
        return EXIT_FAILED
    print(json.dumps(json.loads(reply.to_json()), indent=2))
    return EXIT_OK if reply.ok else EXIT_FAILED


WORKER_DESCRIPTION = (
    "Long-poll the tier's queue, forward each request to vLLM with at most --max-in-flight "
    "at once, reply, delete; extend visibility while requests run; on SIGTERM finish or "
    "release what is in flight. Probes on /livez and /readyz, counters on /metrics. Every "
    "flag can also be set by its environment variable."
)


def run_worker(argv: list[str] | None = None) -> None:
    """``agentfleet-worker``: the queue worker, with nothing else of agentfleet loaded."""
    parser = argparse.ArgumentParser(
        prog="agentfleet-worker", description=WORKER_DESCRIPTION, allow_abbrev=False
    )
    add_worker_arguments(parser)
    sys.exit(worker(parser.parse_args(argv)))
