"""Copy a model's weights from the Hugging Face Hub (or a local folder) into an S3 folder,
one file at a time, for vLLM to stream them from there.

The model store's mirror Job runs this file in vLLM's own image, which carries
huggingface_hub and boto3 (the Run:ai Model Streamer's S3 support brings it); it imports
nothing else, so the Job mounts it from a ConfigMap as it is:

    python3 mirror.py --model meta-llama/Llama-3.1-8B-Instruct \\
        --to s3://agents-prod-weights/models/meta-llama/Llama-3.1-8B-Instruct/

A token for a gated model comes from HF_TOKEN. Files go up one at a time (each downloaded,
uploaded, then deleted), so the Job's disk holds one shard, not the model. A file already
in the folder with the same size is left alone, so a rerun finishes what a failed one
started; what is there is read by listing the folder, which a role that may list only
under the folder's prefix may do (a HEAD of a missing key answers 403 without a bucket-wide
list). The bucket's default encryption applies to every object.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections.abc import Iterable, Iterator
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

WANTED = ("*.safetensors", "*.json", "*.model", "*.txt", "*.tiktoken", "*.jinja", "*.py")
"""What vLLM reads from a model's folder: the weights (safetensors: the streamer reads no
other format), the configs, the tokenizer's files and any custom code."""
SKIPPED = ("original/*", ".cache/*")
"""Folders vLLM ignores (Meta's consolidated checkpoints) or the Hub's client writes."""
S3_FOLDER = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(?P<prefix>.+?)/?$")


class MirrorError(Exception):
    """What stops a mirror, said for the Job's log."""


def wanted(path: str) -> bool:
    return any(fnmatch(path, p) for p in WANTED) and not any(fnmatch(path, p) for p in SKIPPED)


def destination(uri: str) -> tuple[str, str]:
    """The bucket and key prefix (no trailing '/') of an S3 folder."""
    found = S3_FOLDER.fullmatch(uri)
    if found is None:
        raise MirrorError(f"{uri!r} is not an S3 folder (s3://<bucket>/<prefix>/)")
    return found["bucket"], found["prefix"]


INDEX = "model.safetensors.index.json"


def check_files(files: Iterable[str], source: str, index: str | None = None) -> list[str]:
    """The files to copy; MirrorError when they hold no safetensors weights. With the
    weights' index (its text), only the shards it lists: the streamer loads every
    safetensors file it finds outside the index, and a repository may carry a second copy
    of the weights beside the shards (e.g. consolidated.safetensors), which vLLM's Hub
    loader leaves out by the same index."""
    chosen = sorted(f for f in files if wanted(f))
    if index is not None:
        shards = set(json.loads(index).get("weight_map", {}).values())
        chosen = [f for f in chosen if not f.endswith(".safetensors") or f in shards]
    if not any(f.endswith(".safetensors") for f in chosen):
        raise MirrorError(
            f"{source} has no *.safetensors files: the Run:ai Model Streamer reads only "
            "safetensors weights"
        )
    return chosen


def local_files(folder: Path) -> Iterator[tuple[str, Path]]:
    """A local model folder's files to copy, by their path in the folder."""
    every = {p.relative_to(folder).as_posix(): p for p in folder.rglob("*") if p.is_file()}
    index = every[INDEX].read_text() if INDEX in every else None
    for name in check_files(every, str(folder), index):
        yield name, every[name]


def hub_files(model: str, revision: str, scratch: Path) -> Iterator[tuple[str, Path]]:
    """A Hub model's files to copy, each downloaded as it is asked for and deleted after."""
    from huggingface_hub import HfApi, hf_hub_download

    names = HfApi().list_repo_files(model, revision=revision)
    index = None
    if INDEX in names:
        path = Path(hf_hub_download(model, INDEX, revision=revision, local_dir=scratch))
        index = path.read_text()
    for name in check_files(names, f"{model}@{revision}", index):
        path = Path(hf_hub_download(model, name, revision=revision, local_dir=scratch))
        try:
            yield name, path
        finally:
            path.unlink(missing_ok=True)


def present(s3: Any, bucket: str, prefix: str) -> dict[str, int]:
    """The objects already in the folder, by key, with their sizes."""
    sizes: dict[str, int] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/"):
        sizes.update({o["Key"]: o["Size"] for o in page.get("Contents", [])})
    return sizes


def mirror(files: Iterable[tuple[str, Path]], uri: str, s3: Any) -> tuple[int, int]:
    """Upload each file under the S3 folder ``uri``, leaving alone those there already with
    the same size; the number uploaded and the number left."""
    bucket, prefix = destination(uri)
    there = present(s3, bucket, prefix)
    uploaded = kept = 0
    for name, path in files:
        key = f"{prefix}/{name}"
        if there.get(key) == path.stat().st_size:
            kept += 1
            print(f"kept     s3://{bucket}/{key}", flush=True)
            continue
        s3.upload_file(str(path), bucket, key)
        uploaded += 1
        print(f"uploaded s3://{bucket}/{key} ({path.stat().st_size:,} bytes)", flush=True)
    return uploaded, kept


def main(argv: list[str] | None = None, s3: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="the Hub id (org/name)")
    parser.add_argument("--to", required=True, help="the S3 folder, s3://<bucket>/<prefix>/")
    parser.add_argument("--revision", default="main", help="the Hub revision (default main)")
    parser.add_argument("--source", type=Path, help="a local model folder instead of the Hub")
    args = parser.parse_args(argv)
    try:
        destination(args.to)
        if s3 is None:
            import boto3

            s3 = boto3.client("s3")
        with tempfile.TemporaryDirectory(prefix="mirror-") as scratch:
            files = (
                local_files(args.source)
                if args.source is not None
                else hub_files(args.model, args.revision, Path(scratch))
            )
            uploaded, kept = mirror(files, args.to, s3)
    except MirrorError as error:
        print(f"mirror: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # the Job's log says why, and the Job retries
        print(f"mirror: {args.model}: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print(f"{args.model}: {uploaded} files uploaded, {kept} already there, in {args.to}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
