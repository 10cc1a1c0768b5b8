"""Where a model's weights live: the Hugging Face Hub (vLLM downloads them at start-up) or
S3 (vLLM streams them with the Run:ai Model Streamer). The config, the components and the
policies read S3 locations through these. Standard library only."""

from __future__ import annotations

import re

S3_SCHEME = "s3://"
BUCKET = r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"
"""An S3 bucket name (general purpose buckets: 3-63 lowercase letters, digits, '.', '-')."""
KEY_PART = r"[A-Za-z0-9!_.*'()-]+"
"""One '/'-separated part of an object key, of the characters S3 calls safe."""
S3_URI = re.compile(rf"^s3://(?P<bucket>{BUCKET})/(?P<prefix>{KEY_PART}(?:/{KEY_PART})*)/?$")
"""A model's folder in S3: ``s3://<bucket>/<prefix>/`` (the trailing '/' optional)."""
KEY_PREFIX = re.compile(rf"^{KEY_PART}(?:/{KEY_PART})*$")
LOAD_FORMAT = "runai_streamer"
"""vLLM's ``--load-format`` for weights in object storage (vLLM refuses others there)."""


HUB_ID = re.compile(r"(?:[A-Za-z0-9][A-Za-z0-9._-]{0,95}/)?[A-Za-z0-9][A-Za-z0-9._-]{0,95}")
"""A Hugging Face repository id: ``<name>`` or ``<owner>/<name>``, letters, digits, '-',
'_' and '.', neither starting with a punctuation mark."""
PATH = re.compile(r"\.?/[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*/?")
"""A path of the image (``/models/x``) or of the project (``./models/x``)."""


def check_model(model: str) -> str:
    """``model`` when it is a Hub id, an S3 folder or a path without '..'; ValueError with
    what it may be otherwise. vLLM takes it as its first argument: a value like
    ``--kv-transfer-config=...`` must never get there."""
    if is_s3(model):
        split(model)
    elif not (HUB_ID.fullmatch(model) or (PATH.fullmatch(model) and ".." not in model.split("/"))):
        raise ValueError(
            f"{model!r} is not a model: give a Hugging Face id (<owner>/<name>), an S3 folder "
            "(s3://<bucket>/<prefix>/), or a path (/in/the/image, ./in/the/project)"
        )
    return model


def is_s3(model: str) -> bool:
    return model.startswith(S3_SCHEME)


def is_hub_id(model: str) -> bool:
    """A model vLLM fetches from the Hugging Face Hub: neither a folder in object storage
    nor a path (in the image)."""
    return not model.startswith((S3_SCHEME, "gs://", "az://", "/", "./", "../"))


def split(uri: str) -> tuple[str, str]:
    """The bucket and the key prefix (without a trailing '/') of a model's S3 folder;
    ValueError when ``uri`` is not one."""
    found = S3_URI.fullmatch(uri)
    if found is None:
        raise ValueError(
            f"{uri!r} is not a model's S3 folder: want s3://<bucket>/<prefix>/ (a bucket "
            "name, then at least one key part)"
        )
    return found["bucket"], found["prefix"]


REVISION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
"""A Hub revision a stack may pin: a commit hash, a tag or a branch without '/'."""
PIN = "@"
"""Between a Hub id and its revision in a pinned model's name (``org/name@rev``): a Hub
id holds no '@'."""
REVISION_FOLDER = "--"
"""Between a Hub id and its revision in a store's folder: the Hub refuses '--' in a
repository's name, so ``<model>--<revision>`` is no other model's folder, and it sits
beside ``<model>/``, not inside it (the streamer would read a nested copy's shards)."""


def pinned(model: str, revision: str | None) -> str:
    """``model`` at ``revision`` (``org/name@rev``), or ``model`` itself without one."""
    return model if revision is None else f"{model}{PIN}{revision}"


def unpinned(name: str) -> tuple[str, str | None]:
    """The Hub id and the revision of a name ``pinned`` gave."""
    model, _, revision = name.partition(PIN)
    return model, revision or None


def folder(bucket: str, prefix: str, model: str) -> str:
    """The S3 folder a model store keeps ``model`` (a Hub id, pinned or not) in:
    ``<prefix>/<model>/``, or ``<prefix>/<model>--<revision>/`` at a pinned revision."""
    hub_id, revision = unpinned(model)
    name = hub_id if revision is None else f"{hub_id}{REVISION_FOLDER}{revision}"
    return f"{S3_SCHEME}{bucket}/{prefix.strip('/')}/{name}/"


def normalized(uri: str) -> str:
    """An S3 folder with its trailing '/', as vLLM lists it."""
    bucket, prefix = split(uri)
    return f"{S3_SCHEME}{bucket}/{prefix}/"
