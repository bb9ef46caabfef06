"""A workspace's storage location: a directory under a local warehouse (`file://`) or a prefix
in an S3 bucket (`s3://bucket/prefix`, reached with the `SADEEM_S3_*` settings through boto3).
Every operation is idempotent."""

from __future__ import annotations

import re
import secrets
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError
from pyiceberg.io import FileIO, InputFile, OutputFile

from sadeem.catalog.errors import OutsideWorkspaceStorage
from sadeem.config import Settings

# An object that makes an S3 prefix exist (S3 has no directories) and says who owns it.
MARKER = ".sadeem-workspace"
# Where the health check writes and deletes its probe, apart from every workspace's prefix.
PROBE_PREFIX = ".sadeem-health"


def local_path(location: str) -> Path | None:
    parsed = urlparse(location)
    return Path(unquote(parsed.path)) if parsed.scheme == "file" else None


def inside_storage(root: str, location: str) -> str | None:
    """`location` (normalized) if it lies inside the storage location `root`, else None."""
    root = root.rstrip("/")
    cleaned = re.sub(r"^file:/(?=[^/])", "file:///", location).rstrip("/")  # Hadoop writes `file:/p`
    # Decoded too: `%2e%2e` is `..` to whoever turns the URI into a path (local_path does).
    segments = unquote(cleaned).split("/")
    if ".." in segments or "." in segments[3:] or not (cleaned == root or cleaned.startswith(root + "/")):
        return None
    return cleaned


class WorkspaceFileIO(FileIO):
    """The server's FileIO for one workspace's table: every file it opens, writes or deletes must
    lie inside the workspace's storage, checked when the file is touched. A table's manifests
    name any path a writer put there (only the manifest list is checked at commit, and reading
    every manifest of every commit would not scale), so a preview, a file listing or a purge
    must not follow a path into another workspace's storage with the server's credentials."""

    def __init__(self, inner: FileIO, root: str | None, table: str) -> None:
        super().__init__(inner.properties)
        self._inner = inner
        self._root = root  # None: no workspace owns the table's namespace, so nothing is inside
        self._table = table

    def _checked(self, location: str) -> str:
        if self._root is None or inside_storage(self._root, location) is None:
            where = f"its workspace's storage {self._root.rstrip('/')}/" if self._root else "any workspace"
            raise OutsideWorkspaceStorage(
                f"Table {self._table} refers to a file outside {where}: {location}. Sadeem reads no "
                "file outside the table's workspace; rewrite or roll back the snapshot that added it.",
                table=self._table,
            )
        return location

    def new_input(self, location: str) -> InputFile:
        return self._inner.new_input(self._checked(location))

    def new_output(self, location: str) -> OutputFile:
        return self._inner.new_output(self._checked(location))

    def delete(self, location: str | InputFile | OutputFile) -> None:
        self._inner.delete(self._checked(location if isinstance(location, str) else location.location))


def _bucket_and_prefix(location: str) -> tuple[str, str]:
    parsed = urlparse(location)
    return parsed.netloc, parsed.path.strip("/")


def s3_client(settings: Settings) -> Any:
    secret = settings.s3_secret_access_key
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        region_name=settings.s3_region or "us-east-1",
        aws_access_key_id=settings.s3_access_key_id,
        aws_secret_access_key=secret.get_secret_value() if secret else None,
        config=BotoConfig(
            s3={"addressing_style": "path" if settings.s3_path_style else "auto"},
            connect_timeout=5,
            read_timeout=30,
            retries={"max_attempts": 2},
        ),
    )


def _is_s3(location: str) -> bool:
    return urlparse(location).scheme in ("s3", "s3a")


def ensure_location(settings: Settings, location: str, owner: str) -> str:
    """Create the location if it is missing; say what was done."""
    path = local_path(location)
    if path is not None:
        existed = path.is_dir()
        path.mkdir(parents=True, exist_ok=True)
        return "directory exists" if existed else "directory created"
    if not _is_s3(location):
        return f"nothing to create for a {urlparse(location).scheme}:// location"
    bucket, prefix = _bucket_and_prefix(location)
    client = s3_client(settings)
    done = []
    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
            raise
        client.create_bucket(Bucket=bucket)
        done.append(f"bucket {bucket} created")
    client.put_object(Bucket=bucket, Key=f"{prefix}/{MARKER}" if prefix else MARKER, Body=owner.encode())
    done.append(f"prefix {prefix or '/'} marked")
    return "; ".join(done)


def count_files(settings: Settings, location: str) -> int:
    path = local_path(location)
    if path is not None:
        return sum(1 for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0
    if not _is_s3(location):
        return 0
    bucket, prefix = _bucket_and_prefix(location)
    paginator = s3_client(settings).get_paginator("list_objects_v2")
    return sum(
        1
        for page in paginator.paginate(Bucket=bucket, Prefix=f"{prefix}/" if prefix else "")
        for item in page.get("Contents", [])
        if not item["Key"].endswith(MARKER)
    )


def delete_location(settings: Settings, location: str, purge: bool) -> None:
    """Remove the location: everything in it with `purge`, else only if it holds nothing."""
    path = local_path(location)
    if path is not None:
        if (path.is_dir() and purge) or (path.is_dir() and not any(p.is_file() for p in path.rglob("*"))):
            shutil.rmtree(path)
        return
    if not _is_s3(location):
        return
    if not purge and count_files(settings, location):
        return
    bucket, prefix = _bucket_and_prefix(location)
    client = s3_client(settings)
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=f"{prefix}/" if prefix else ""):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})


def probe(settings: Settings, location: str) -> str:
    """Write, read back and delete a small object under `location`/PROBE_PREFIX: the storage is
    reachable and writable. Raises what the storage raised; says where it wrote."""
    name = f"probe-{secrets.token_hex(8)}"
    body = name.encode()
    path = local_path(location)
    if path is not None:
        target = path / PROBE_PREFIX / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
        try:
            if target.read_bytes() != body:
                raise OSError(f"{target} read back differently than written")
        finally:
            target.unlink()
        return str(target.parent)
    if not _is_s3(location):
        raise ValueError(f"a {urlparse(location).scheme}:// warehouse cannot be probed")
    bucket, prefix = _bucket_and_prefix(location)
    key = f"{prefix}/{PROBE_PREFIX}/{name}" if prefix else f"{PROBE_PREFIX}/{name}"
    client = s3_client(settings)
    client.put_object(Bucket=bucket, Key=key, Body=body)
    try:
        if client.get_object(Bucket=bucket, Key=key)["Body"].read() != body:
            raise OSError(f"s3://{bucket}/{key} read back differently than written")
    finally:
        client.delete_object(Bucket=bucket, Key=key)
    return f"s3://{bucket}/{key.rpartition('/')[0]}"
