"""The model store's mirror (bridge/mirror.py), run as its Job runs it (the file alone, in a
Python with boto3), against moto_server's S3: what vLLM reads goes up under the folder,
encrypted by the bucket's default, the weights the index lists and no other copy; a rerun
uploads nothing twice; a model without safetensors is refused (the streamer reads no other
format)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.bridge.support import AWS_ENV, REGION, MotoServer
from tests.helpers import REPO

pytestmark = pytest.mark.integration

SCRIPT = REPO / "bridge" / "mirror.py"
MODEL = "acme/support-bot-7b"


def client(moto: MotoServer, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=moto.url,
        region_name=REGION,
        aws_access_key_id=AWS_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=AWS_ENV["AWS_SECRET_ACCESS_KEY"],
    )


def a_model(folder: Path, *, weights: bool = True) -> Path:
    """A model folder as the Hub's snapshot has it, with what vLLM skips beside it."""
    files = {
        "config.json": "{}",
        "generation_config.json": "{}",
        "tokenizer.json": "{}",
        "tokenizer_config.json": "{}",
        "README.md": "# a card",
        "original/consolidated.00.pth": "x" * 64,
        "pytorch_model.bin": "x" * 64,
    }
    if weights:
        files["model-00001-of-00002.safetensors"] = "w" * 4096
        files["model-00002-of-00002.safetensors"] = "w" * 1024
        shards = {"a.weight": "model-00001-of-00002.safetensors",
                  "b.weight": "model-00002-of-00002.safetensors"}  # fmt: skip
        files["model.safetensors.index.json"] = json.dumps({"weight_map": shards})
        # a second copy of the weights outside the index, which the streamer would load
        files["consolidated.safetensors"] = "w" * 5120
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def run_mirror(moto: MotoServer, source: Path, to: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **AWS_ENV, "AWS_ENDPOINT_URL": moto.url, "AWS_REGION": REGION}
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--model", MODEL, "--to", to, "--source", str(source)],
        capture_output=True, text=True, check=False, env=env, timeout=120,
    )  # fmt: skip


@pytest.fixture
def bucket(moto: MotoServer) -> str:
    """A bucket encrypted by default under a KMS key of its own, as ModelStore makes it."""
    name = f"weights-{uuid.uuid4().hex[:12]}"
    s3, kms = client(moto, "s3"), client(moto, "kms")
    key = kms.create_key(Description="model store")["KeyMetadata"]["Arn"]
    s3.create_bucket(Bucket=name)
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": key,
                    },
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )
    return name


def test_what_vllm_reads_goes_up_under_the_folder_once(
    moto: MotoServer, bucket: str, tmp_path: Path
) -> None:
    to = f"s3://{bucket}/models/{MODEL}/"
    first = run_mirror(moto, a_model(tmp_path), to)
    assert first.returncode == 0, first.stderr
    s3 = client(moto, "s3")
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"models/{MODEL}/")["Contents"]
    assert sorted(o["Key"].removeprefix(f"models/{MODEL}/") for o in listed) == [
        "config.json",
        "generation_config.json",
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
        "model.safetensors.index.json",
        "tokenizer.json",
        "tokenizer_config.json",
    ]
    shard = s3.head_object(Bucket=bucket, Key=f"models/{MODEL}/model-00001-of-00002.safetensors")
    assert (shard["ContentLength"], shard["ServerSideEncryption"]) == (4096, "aws:kms")
    assert f"{MODEL}: 7 files uploaded, 0 already there" in first.stdout

    again = run_mirror(moto, tmp_path, to)
    assert again.returncode == 0, again.stderr
    assert f"{MODEL}: 0 files uploaded, 7 already there" in again.stdout


def test_a_model_without_safetensors_is_refused_and_nothing_goes_up(
    moto: MotoServer, bucket: str, tmp_path: Path
) -> None:
    done = run_mirror(moto, a_model(tmp_path, weights=False), f"s3://{bucket}/models/{MODEL}/")
    assert done.returncode == 2
    assert "no *.safetensors files" in done.stderr
    assert "Contents" not in client(moto, "s3").list_objects_v2(Bucket=bucket)
