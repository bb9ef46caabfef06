"""The built-in Iceberg REST catalog with real clients: pyiceberg's RestCatalog and DuckDB 1.5.5
(ATTACH … TYPE ICEBERG) against a live Sadeem, plus raw HTTP for what a client cannot express
(a multi-table transaction whose second requirement fails, the OAuth token exchange).

Each test gets its own server and database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pyarrow as pa
import pytest
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.exceptions import (
    BadRequestError,
    ForbiddenError,
    NamespaceNotEmptyError,
    NoSuchNamespaceError,
    NoSuchTableError,
    OAuthError,
    TableAlreadyExistsError,
)
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import CommitTableRequest, Table, TableIdentifier
from pyiceberg.table.update import (
    AssertCurrentSchemaId,
    AssertTableUUID,
    SetLocationUpdate,
    SetPropertiesUpdate,
    TableRequirement,
    TableUpdate,
)
from pyiceberg.transforms import IdentityTransform
from pyiceberg.types import LongType, NestedField, StringType

from tests.catalog_support import CatalogServer, catalog_server  # noqa: F401
from tests.conftest import bearer

pytestmark = pytest.mark.integration

READINGS = pa.schema([pa.field("id", pa.int64(), nullable=False), pa.field("site", pa.string())])


def _readings(ids: list[int], sites: list[str]) -> pa.Table:
    return pa.table({"id": pa.array(ids, pa.int64()), "site": sites}, schema=READINGS)


def _rows(table: Table, **scan: Any) -> list[tuple[Any, ...]]:
    arrow = table.scan(**scan).to_arrow()
    return sorted(tuple(row.values()) for row in arrow.to_pylist())


def _http(server: CatalogServer, who: str) -> httpx.Client:
    return httpx.Client(base_url=f"{server.uri}/v1", headers=bearer(server.world.tokens[who]), timeout=30)


def _alpha_dir(server: CatalogServer) -> Path:
    return server.settings.home / "warehouse" / "alpha"


def _files_under(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()] if path.exists() else []


def _audit(server: CatalogServer, **filters: str) -> list[dict[str, Any]]:
    return server.audit_events(**filters)


def _change(table: Table, requirements: list[TableRequirement], updates: list[TableUpdate]) -> dict[str, Any]:
    *namespace, name = table.name()
    request = CommitTableRequest(
        identifier=TableIdentifier(namespace=namespace, name=name),
        requirements=tuple(requirements),
        updates=tuple(updates),
    )
    change: dict[str, Any] = json.loads(request.model_dump_json(by_alias=True))
    return change


# --- pyiceberg ---------------------------------------------------------------------------------


def test_pyiceberg_writes_evolves_and_travels_in_time(catalog_server: CatalogServer) -> None:  # noqa: F811
    catalog = catalog_server.pyiceberg("ws_editor")
    table = catalog.create_table(("alpha", "readings"), READINGS)
    assert table.location().startswith(catalog_server.settings.resolved_warehouse + "/alpha/")

    table.append(_readings([1, 2], ["a", "b"]))
    first = table.current_snapshot()
    assert first is not None
    time.sleep(0.01)  # distinct snapshot timestamps
    table.append(_readings([3], ["c"]))
    table.overwrite(_readings([10, 11], ["x", "y"]), overwrite_filter="id >= 2")
    assert _rows(catalog.load_table(("alpha", "readings"))) == [(1, "a"), (10, "x"), (11, "y")]

    table.delete("site == 'x'")
    assert _rows(catalog.load_table(("alpha", "readings"))) == [(1, "a"), (11, "y")]

    with table.update_schema() as update:
        update.add_column("depth", LongType())
        update.rename_column("site", "station")
    table.append(
        pa.table(
            {"id": pa.array([20], pa.int64()), "station": ["z"], "depth": pa.array([7], pa.int64())},
            schema=table.schema().as_arrow(),
        )
    )
    reloaded = catalog.load_table(("alpha", "readings"))
    assert reloaded.schema().column_names == ["id", "station", "depth"]
    assert _rows(reloaded) == [(1, "a", None), (11, "y", None), (20, "z", 7)]

    # Time travel: by snapshot id and by timestamp, through metadata the server kept.
    assert _rows(reloaded, snapshot_id=first.snapshot_id) == [(1, "a"), (2, "b")]
    as_of = reloaded.snapshot_as_of_timestamp(first.timestamp_ms)
    assert as_of is not None and as_of.snapshot_id == first.snapshot_id
    assert len(reloaded.history()) == len(reloaded.snapshots()) >= 5


def test_pyiceberg_partitioned_table(catalog_server: CatalogServer) -> None:  # noqa: F811
    catalog = catalog_server.pyiceberg("ws_editor")
    schema = Schema(
        NestedField(1, "id", LongType(), required=True), NestedField(2, "site", StringType(), required=False)
    )
    spec = PartitionSpec(
        PartitionField(source_id=2, field_id=1000, transform=IdentityTransform(), name="site")
    )
    table = catalog.create_table(("alpha", "by_site"), schema, partition_spec=spec)
    table.append(_readings([1, 2, 3], ["a", "b", "a"]))
    loaded = catalog.load_table(("alpha", "by_site"))
    assert [f.name for f in loaded.spec().fields] == ["site"]
    assert _rows(loaded, row_filter="site == 'a'") == [(1, "a"), (3, "a")]
    data_dirs = {p.parent.name for p in _files_under(_alpha_dir(catalog_server) / "by_site" / "data")}
    assert data_dirs == {"site=a", "site=b"}


def test_pyiceberg_drop_purge_rename_register(catalog_server: CatalogServer) -> None:  # noqa: F811
    admin = catalog_server.pyiceberg("ws_admin")
    editor = catalog_server.pyiceberg("ws_editor")
    alpha = _alpha_dir(catalog_server)

    kept = editor.create_table(("alpha", "kept"), READINGS)
    kept.append(_readings([1], ["a"]))
    admin.drop_table(("alpha", "kept"))
    assert not editor.table_exists(("alpha", "kept"))
    assert _files_under(alpha / "kept"), "a drop without purge keeps the files"

    purged = editor.create_table(("alpha", "purged"), READINGS)
    purged.append(_readings([1], ["a"]))
    purged.delete("id == 1")
    assert _files_under(alpha / "purged")
    admin.purge_table(("alpha", "purged"))
    assert not editor.table_exists(("alpha", "purged"))
    assert _files_under(alpha / "purged") == []

    editor.create_namespace(("alpha", "archive"))
    moved = editor.create_table(("alpha", "moving"), READINGS)
    moved.append(_readings([5], ["m"]))
    editor.rename_table(("alpha", "moving"), ("alpha", "archive", "moved"))
    assert not editor.table_exists(("alpha", "moving"))
    assert _rows(editor.load_table(("alpha", "archive", "moved"))) == [(5, "m")]

    editor.create_table(("alpha", "taken"), READINGS)
    with pytest.raises(TableAlreadyExistsError):
        editor.rename_table(("alpha", "archive", "moved"), ("alpha", "taken"))
    with pytest.raises(NoSuchNamespaceError):
        editor.rename_table(("alpha", "archive", "moved"), ("alpha", "nowhere", "moved"))
    with pytest.raises(BadRequestError, match="cannot move to another workspace"):
        catalog_server.pyiceberg("root", warehouse=None).rename_table(("alpha", "taken"), ("beta", "taken"))
    with pytest.raises(NoSuchTableError):
        admin.drop_table(("alpha", "never_was"))

    # The metadata of the table dropped without purge is registered again under a new name.
    metadata = sorted((alpha / "kept" / "metadata").glob("*.metadata.json"))[-1]
    registered = editor.register_table(("alpha", "revived"), metadata.as_uri())
    assert _rows(registered) == [(1, "a")]
    with pytest.raises(TableAlreadyExistsError):
        editor.register_table(("alpha", "revived"), metadata.as_uri())
    moved_metadata = editor.load_table(("alpha", "archive", "moved")).metadata_location
    replaced = editor.register_table(("alpha", "revived"), moved_metadata, overwrite=True)
    assert _rows(replaced) == [(5, "m")]


def test_pyiceberg_namespaces(catalog_server: CatalogServer) -> None:  # noqa: F811
    editor = catalog_server.pyiceberg("ws_editor")
    admin = catalog_server.pyiceberg("ws_admin")
    assert editor.list_namespaces() == [("alpha",)]
    assert catalog_server.pyiceberg("ws_editor", warehouse=None).list_namespaces() == [("alpha",)]
    assert catalog_server.pyiceberg("root", warehouse=None).list_namespaces() == [("alpha",), ("beta",)]

    editor.create_namespace(("alpha", "raw"), {"owner": "ops"})
    editor.create_namespace(("alpha", "raw", "meters"))
    editor.create_namespace(("alpha", "curated"))
    assert editor.list_namespaces(("alpha",)) == [("alpha", "curated"), ("alpha", "raw")]
    assert editor.list_namespaces(("alpha", "raw")) == [("alpha", "raw", "meters")]
    properties = editor.load_namespace_properties(("alpha", "raw"))
    assert properties == {
        "owner": "ops",
        "location": catalog_server.settings.resolved_warehouse + "/alpha/raw",
    }

    summary = editor.update_namespace_properties(
        ("alpha", "raw"), removals={"owner", "nope"}, updates={"k": "v"}
    )
    assert (summary.removed, summary.updated, summary.missing) == (["owner"], ["k"], ["nope"])
    assert editor.load_namespace_properties(("alpha", "raw"))["k"] == "v"

    editor.create_table(("alpha", "curated", "t"), READINGS)
    with pytest.raises(NamespaceNotEmptyError):
        admin.drop_namespace(("alpha", "curated"))  # holds a table
    with pytest.raises(NamespaceNotEmptyError):
        admin.drop_namespace(("alpha", "raw"))  # holds a namespace
    admin.drop_namespace(("alpha", "raw", "meters"))
    admin.drop_namespace(("alpha", "raw"))
    assert editor.list_namespaces(("alpha",)) == [("alpha", "curated")]

    # Top-level namespaces are the workspaces' own: made by provisioning, gone with the workspace.
    for catalog in (editor, catalog_server.pyiceberg("ws_editor", warehouse=None)):
        with pytest.raises(ForbiddenError, match="Top-level namespaces belong to workspaces"):
            catalog.create_namespace(("gamma",))
    with pytest.raises(ForbiddenError, match="workspace alpha's own"):
        catalog_server.pyiceberg("root").drop_namespace(("alpha",))
    assert editor.list_namespaces() == [("alpha",)]


# --- DuckDB ------------------------------------------------------------------------------------


def test_duckdb_creates_writes_updates_deletes_and_drops(catalog_server: CatalogServer) -> None:  # noqa: F811
    duck = catalog_server.duckdb("ws_editor")
    duck.execute("CREATE TABLE lake.alpha.meters (id BIGINT, site VARCHAR, depth DOUBLE)")
    assert (_alpha_dir(catalog_server) / "meters" / "metadata").is_dir()
    duck.execute("INSERT INTO lake.alpha.meters VALUES (1, 'a', 1.5), (2, 'b', 2.5), (3, 'c', 3.5)")
    duck.execute("UPDATE lake.alpha.meters SET depth = 9.0 WHERE id = 2")
    duck.execute("DELETE FROM lake.alpha.meters WHERE id = 3")
    assert duck.execute("SELECT id, site, depth FROM lake.alpha.meters ORDER BY id").fetchall() == [
        (1, "a", 1.5),
        (2, "b", 9.0),
    ]

    # DuckDB's table, read by pyiceberg (positional deletes included) and written back.
    catalog = catalog_server.pyiceberg("ws_editor")
    table = catalog.load_table(("alpha", "meters"))
    assert _rows(table) == [(1, "a", 1.5), (2, "b", 9.0)]
    table.append(
        pa.table(
            {"id": pa.array([4], pa.int64()), "site": ["d"], "depth": [4.5]}, schema=table.schema().as_arrow()
        )
    )
    assert duck.execute("SELECT count(*), sum(id) FROM lake.alpha.meters").fetchone() == (3, 7)

    admin_duck = catalog_server.duckdb("ws_admin")
    admin_duck.execute("DROP TABLE lake.alpha.meters")
    assert not catalog.table_exists(("alpha", "meters"))


def test_duckdb_reads_and_writes_a_pyiceberg_table(catalog_server: CatalogServer) -> None:  # noqa: F811
    catalog = catalog_server.pyiceberg("ws_editor")
    table = catalog.create_table(("alpha", "from_pyiceberg"), READINGS)
    table.append(_readings([1, 2], ["a", "b"]))
    duck = catalog_server.duckdb("ws_editor")
    duck.execute("INSERT INTO lake.alpha.from_pyiceberg VALUES (3, 'c')")
    duck.execute("DELETE FROM lake.alpha.from_pyiceberg WHERE id = 1")
    assert _rows(catalog.load_table(("alpha", "from_pyiceberg"))) == [(2, "b"), (3, "c")]


def test_duckdb_transaction_over_two_tables_is_one_commit(catalog_server: CatalogServer) -> None:  # noqa: F811
    duck = catalog_server.duckdb("ws_editor")
    duck.execute("CREATE TABLE lake.alpha.left_side (id BIGINT)")
    duck.execute("CREATE TABLE lake.alpha.right_side (id BIGINT)")
    duck.execute("BEGIN")
    duck.execute("INSERT INTO lake.alpha.left_side VALUES (1)")
    duck.execute("INSERT INTO lake.alpha.right_side VALUES (2)")
    duck.execute("COMMIT")
    catalog = catalog_server.pyiceberg("ws_editor")
    assert _rows(catalog.load_table(("alpha", "left_side"))) == [(1,)]
    assert _rows(catalog.load_table(("alpha", "right_side"))) == [(2,)]
    events = _audit(catalog_server, action="commit_transaction")
    assert {e["target_id"] for e in events} == {"alpha.left_side", "alpha.right_side"}
    assert len({e["request_id"] for e in events}) == 1


# --- raw HTTP: stage-create and multi-table transactions -------------------------------------


def test_stage_create_prepares_the_local_table_directory(catalog_server: CatalogServer) -> None:  # noqa: F811
    with _http(catalog_server, "ws_editor") as http:
        body = {
            "name": "staged",
            "schema": {
                "type": "struct",
                "schema-id": 0,
                "fields": [{"id": 1, "name": "id", "type": "long", "required": False}],
            },
            "stage-create": True,
        }
        response = http.post("/alpha/namespaces/alpha/tables", json=body)
        assert response.status_code == 200, response.text
        assert "metadata-location" not in response.json()
        assert (_alpha_dir(catalog_server) / "staged" / "metadata").is_dir()
        # Staged, not created: the table exists once a commit with assert-create says so.
        assert http.head("/alpha/namespaces/alpha/tables/staged").status_code == 404
        assert http.get("/alpha/namespaces/alpha/tables").json()["identifiers"] == []


def test_multi_table_commit_is_all_or_none(catalog_server: CatalogServer) -> None:  # noqa: F811
    catalog = catalog_server.pyiceberg("ws_editor")
    first = catalog.create_table(("alpha", "first"), READINGS)
    second = catalog.create_table(("alpha", "second"), READINGS)
    before = (first.metadata_location, second.metadata_location)
    events_before = len(_audit(catalog_server, target_type="table"))

    stale_schema = AssertCurrentSchemaId(current_schema_id=second.metadata.current_schema_id + 7)
    body = {
        "table-changes": [
            _change(
                first,
                [AssertTableUUID(uuid=first.metadata.table_uuid)],
                [SetPropertiesUpdate(updates={"k": "1"})],
            ),
            _change(second, [stale_schema], [SetPropertiesUpdate(updates={"k": "2"})]),
        ]
    }
    with _http(catalog_server, "ws_editor") as http:
        refused = http.post("/alpha/transactions/commit", json=body)
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["type"] == "CommitFailedException"
        after = (catalog.load_table(("alpha", "first")), catalog.load_table(("alpha", "second")))
        assert (after[0].metadata_location, after[1].metadata_location) == before
        assert "k" not in after[0].properties and "k" not in after[1].properties
        assert len(_audit(catalog_server, target_type="table")) == events_before

        body["table-changes"][1] = _change(
            second,
            [AssertTableUUID(uuid=second.metadata.table_uuid)],
            [SetPropertiesUpdate(updates={"k": "2"})],
        )
        accepted = http.post("/alpha/transactions/commit", json=body)
        assert accepted.status_code == 204, accepted.text
    assert catalog.load_table(("alpha", "first")).properties["k"] == "1"
    assert catalog.load_table(("alpha", "second")).properties["k"] == "2"


def test_a_commit_creates_a_table_only_with_assert_create(catalog_server: CatalogServer) -> None:  # noqa: F811
    schema = {
        "type": "struct",
        "schema-id": 0,
        "fields": [{"id": 1, "name": "id", "type": "long", "required": False}],
    }
    creation = [
        {"action": "assign-uuid", "uuid": "4b8a0bd4-3b4b-4a4e-9d7a-0d1f2c3b4a5e"},
        {"action": "upgrade-format-version", "format-version": 2},
        {"action": "add-schema", "schema": schema},
        {"action": "set-current-schema", "schema-id": -1},
        {"action": "add-spec", "spec": {"spec-id": 0, "fields": []}},
        {"action": "set-default-spec", "spec-id": -1},
        {"action": "add-sort-order", "sort-order": {"order-id": 0, "fields": []}},
        {"action": "set-default-sort-order", "sort-order-id": -1},
    ]
    with _http(catalog_server, "ws_editor") as http:
        located = [
            *creation,
            {
                "action": "set-location",
                "location": f"{catalog_server.settings.resolved_warehouse}/alpha/ghost",
            },
        ]
        missing = http.post(
            "/alpha/namespaces/alpha/tables/ghost", json={"requirements": [], "updates": located}
        )
        assert missing.status_code == 404, missing.text
        assert missing.json()["error"]["type"] == "NoSuchTableException"
        assert http.head("/alpha/namespaces/alpha/tables/ghost").status_code == 404

        created = http.post(
            "/alpha/namespaces/alpha/tables/ghost",
            json={"requirements": [{"type": "assert-create"}], "updates": creation},
        )
        assert created.status_code == 200, created.text
    location = f"{catalog_server.settings.resolved_warehouse}/alpha/ghost"
    assert created.json()["metadata"]["location"] == location
    assert created.json()["metadata-location"].startswith(f"{location}/metadata/")
    table = catalog_server.pyiceberg("ws_editor").load_table(("alpha", "ghost"))
    table.append(pa.table({"id": pa.array([1], pa.int64())}))
    assert _rows(table) == [(1,)]


def test_concurrent_writers_all_land(catalog_server: CatalogServer) -> None:  # noqa: F811
    """Four writers append at once: the catalog refuses all but one commit per round (409) and
    pyiceberg retries on fresh metadata, so every row lands and none is lost."""
    catalog_server.pyiceberg("ws_editor").create_table(("alpha", "busy"), READINGS)

    def writer(n: int) -> None:
        catalog = catalog_server.pyiceberg("ws_editor")
        for i in range(3):
            catalog.load_table(("alpha", "busy")).append(_readings([n * 10 + i], [f"w{n}"]))

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(writer, range(4)))
    table = catalog_server.pyiceberg("ws_editor").load_table(("alpha", "busy"))
    assert [row[0] for row in _rows(table)] == sorted(n * 10 + i for n in range(4) for i in range(3))
    assert len(table.snapshots()) == 12


def test_a_stale_writer_gets_commit_failed_and_retries(
    catalog_server: CatalogServer,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    catalog = catalog_server.pyiceberg("ws_editor")
    table = catalog.create_table(("alpha", "raced"), READINGS)
    stale = catalog.load_table(("alpha", "raced"))
    table.append(_readings([1], ["a"]))
    stale.append(_readings([2], ["b"]))  # refused with 409 on the stale snapshot; pyiceberg retries
    assert "Commit failed due to a concurrent update" in caplog.text
    assert _rows(catalog.load_table(("alpha", "raced"))) == [(1, "a"), (2, "b")]


# --- audit -------------------------------------------------------------------------------------


def test_every_catalog_change_is_audited_with_actor_and_snapshot(catalog_server: CatalogServer) -> None:  # noqa: F811
    editor = catalog_server.pyiceberg("ws_editor")
    table = editor.create_table(("alpha", "audited"), READINGS)
    table.append(_readings([1], ["a"]))
    snapshot = table.current_snapshot()
    assert snapshot is not None
    editor.rename_table(("alpha", "audited"), ("alpha", "audited2"))
    catalog_server.pyiceberg("ws_admin").drop_table(("alpha", "audited2"))

    events = list(reversed(_audit(catalog_server, target_type="table")))
    summary = [(e["action"], e["target_id"], e["actor"], e["outcome"]) for e in events]
    assert summary == [
        ("create_table", "alpha.audited", "ws_editor", "success"),
        ("commit_table", "alpha.audited", "ws_editor", "success"),
        ("rename_table", "alpha.audited", "ws_editor", "success"),
        ("drop_table", "alpha.audited2", "ws_admin", "success"),
    ]
    create, commit, rename, drop = (e["details"] for e in events)
    assert create["snapshot_id"] is None
    assert commit["snapshot_id"] == str(snapshot.snapshot_id)
    assert commit["updates"] == ["add-snapshot", "set-snapshot-ref"]
    assert rename["renamed_to"] == "alpha.audited2"
    assert rename["snapshot_id"] == str(snapshot.snapshot_id)
    assert drop["snapshot_id"] == str(snapshot.snapshot_id)
    assert drop["purge"] is False
    assert all(e["workspace"] == "alpha" and e["auth_method"] == "token" for e in events)

    namespace_events = _audit(catalog_server, target_type="namespace", actor="ws_editor")
    assert namespace_events == []  # provisioning made alpha; nobody else changed a namespace
    editor.create_namespace(("alpha", "n"))
    (event,) = _audit(catalog_server, target_type="namespace", actor="ws_editor")
    assert (event["action"], event["target_id"]) == ("create_namespace", "alpha.n")


# --- OAuth -------------------------------------------------------------------------------------


def _credential(token: str) -> tuple[str, str]:
    prefix, public_id, secret = token.split("_", 2)
    assert prefix == "sdm"
    return public_id, secret


# pyiceberg warns that it derives the token endpoint from `uri`; deriving it is what is tested.
@pytest.mark.filterwarnings("ignore:Deprecated in 0.8.0:DeprecationWarning")
def test_oauth_client_credentials(catalog_server: CatalogServer) -> None:  # noqa: F811
    public_id, secret = _credential(catalog_server.world.tokens["ws_editor"])
    url = f"{catalog_server.uri}/v1/oauth/tokens"
    granted = httpx.post(
        url, data={"grant_type": "client_credentials", "client_id": public_id, "client_secret": secret}
    )
    assert granted.status_code == 200, granted.text
    body = granted.json()
    assert body["token_type"] == "bearer" and body["expires_in"] > 0
    assert (
        httpx.get(f"{catalog_server.uri}/v1/config", headers=bearer(body["access_token"])).status_code == 200
    )

    wrong = httpx.post(
        url, data={"grant_type": "client_credentials", "client_id": public_id, "client_secret": secret + "x"}
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    assert secret not in wrong.text

    catalog = RestCatalog(
        "sadeem", uri=catalog_server.uri, credential=f"{public_id}:{secret}", warehouse="alpha"
    )
    table = catalog.create_table(("alpha", "via_oauth"), READINGS)
    table.append(_readings([1], ["a"]))
    assert _rows(catalog.load_table(("alpha", "via_oauth"))) == [(1, "a")]

    with pytest.raises(OAuthError, match="invalid_client"):
        RestCatalog("sadeem", uri=catalog_server.uri, credential=f"{public_id}:wrong", warehouse="alpha")


# --- refusals ----------------------------------------------------------------------------------


def test_table_properties_that_steer_the_server_are_refused(catalog_server: CatalogServer) -> None:  # noqa: F811
    warehouse = catalog_server.settings.resolved_warehouse
    steering = [
        {"py-io-impl": "pyiceberg.io.fsspec.FsspecFileIO"},
        {"write.py-location-provider.impl": "tests.anything.Provider"},
        {"s3.endpoint": "http://127.0.0.1:9"},
        {"client.secret-access-key": "x"},
        {"write.metadata.path": f"{warehouse}/beta/planted"},
        {"write.data.path": "file:///tmp/elsewhere"},
    ]
    editor = catalog_server.pyiceberg("ws_editor")
    for properties in steering:
        with pytest.raises(BadRequestError):
            editor.create_table(("alpha", "t"), READINGS, properties=properties)
    table = editor.create_table(
        ("alpha", "t"), READINGS, properties={"write.data.path": f"{warehouse}/alpha/t/files", "owner": "ops"}
    )
    for properties in steering:
        with pytest.raises(BadRequestError):
            table.transaction().set_properties(properties).commit_transaction()
    table.append(_readings([1], ["a"]))
    assert _files_under(_alpha_dir(catalog_server) / "t" / "files")
    assert not (catalog_server.settings.home / "warehouse" / "beta" / "planted").exists()
    assert set(editor.load_table(("alpha", "t")).properties) >= {"write.data.path", "owner"}


def test_purge_deletes_only_the_workspace_own_files(catalog_server: CatalogServer) -> None:  # noqa: F811
    """A manifest can name any path (here: beta's data file, added to an alpha table); purging the
    alpha table must not delete it with the server's credentials."""
    beta = catalog_server.pyiceberg("outsider", warehouse="beta")
    beta_table = beta.create_table(("beta", "own"), READINGS)
    beta_table.append(_readings([1], ["b"]))
    (beta_file,) = [task.file.file_path for task in beta_table.scan().plan_files()]

    editor = catalog_server.pyiceberg("ws_editor")
    borrowed = editor.create_table(("alpha", "borrowed"), READINGS)
    borrowed.add_files([beta_file])
    borrowed.append(_readings([2], ["a"]))
    assert _rows(editor.load_table(("alpha", "borrowed"))) == [(1, "b"), (2, "a")]

    catalog_server.pyiceberg("ws_admin").purge_table(("alpha", "borrowed"))
    assert _files_under(_alpha_dir(catalog_server) / "borrowed") == []
    assert _rows(beta.load_table(("beta", "own"))) == [(1, "b")]


def _every_catalog_route(prefix: str, namespace: str, table: str) -> list[tuple[str, str, Any]]:
    """Every catalog route that names a namespace or a table, aimed at `namespace`.`table`."""
    schema = {
        "type": "struct",
        "schema-id": 0,
        "fields": [{"id": 1, "name": "id", "type": "long", "required": False}],
    }
    ident = {"namespace": [namespace], "name": table}
    ns = f"/{prefix}/namespaces/{namespace}"
    return [
        ("GET", f"/{prefix}/namespaces?parent={namespace}", None),
        ("POST", f"/{prefix}/namespaces", {"namespace": [namespace, "sub"]}),
        ("GET", ns, None),
        ("HEAD", ns, None),
        ("DELETE", ns, None),
        ("POST", f"{ns}/properties", {"updates": {"k": "v"}}),
        ("GET", f"{ns}/tables", None),
        ("POST", f"{ns}/tables", {"name": "new", "schema": schema}),
        ("POST", f"{ns}/tables", {"name": "new", "schema": schema, "stage-create": True}),
        ("GET", f"{ns}/tables/{table}", None),
        ("HEAD", f"{ns}/tables/{table}", None),
        (
            "POST",
            f"{ns}/tables/{table}",
            {"requirements": [], "updates": [{"action": "set-properties", "updates": {"k": "v"}}]},
        ),
        ("DELETE", f"{ns}/tables/{table}", None),
        ("DELETE", f"{ns}/tables/{table}?purgeRequested=true", None),
        ("POST", f"{ns}/register", {"name": "reg", "metadata-location": "file:///nowhere/x.metadata.json"}),
        ("POST", f"{ns}/tables/{table}/metrics", {"report-type": "scan-report"}),
        (
            "POST",
            f"/{prefix}/tables/rename",
            {"source": ident, "destination": {"namespace": [namespace], "name": "renamed"}},
        ),
        (
            "POST",
            f"/{prefix}/transactions/commit",
            {
                "table-changes": [
                    {
                        "identifier": ident,
                        "requirements": [],
                        "updates": [{"action": "set-properties", "updates": {"k": "v"}}],
                    }
                ]
            },
        ),
    ]


def test_another_workspace_is_refused_on_every_route(catalog_server: CatalogServer) -> None:  # noqa: F811
    catalog = catalog_server.pyiceberg("ws_editor")
    table = catalog.create_table(("alpha", "secret"), READINGS)
    table.append(_readings([1], ["a"]))
    before = catalog.load_table(("alpha", "secret")).metadata_location

    with _http(catalog_server, "outsider") as http:
        assert http.get("/config", params={"warehouse": "alpha"}).status_code == 403
        assert http.get("/config", params={"warehouse": "beta"}).status_code == 200
        for prefix in ("alpha", "all-workspaces", "beta"):
            for method, path, body in _every_catalog_route(prefix, "alpha", "secret"):
                response = http.request(method, path, json=body)
                assert response.status_code == 403, (method, path, response.text)
                if method != "HEAD":
                    assert response.json()["error"]["type"] == "ForbiddenException", (method, path)
    assert catalog.load_table(("alpha", "secret")).metadata_location == before
    assert catalog.list_namespaces(("alpha",)) == []
    assert [t for _, t in catalog.list_tables(("alpha",))] == ["secret"]

    with pytest.raises(ForbiddenError):
        catalog_server.pyiceberg("outsider", warehouse="alpha")
    outsider = catalog_server.pyiceberg("outsider", warehouse=None)
    for attempt in (
        lambda: outsider.load_table(("alpha", "secret")),
        lambda: outsider.list_tables(("alpha",)),
        lambda: outsider.list_namespaces(("alpha",)),
        lambda: outsider.load_namespace_properties(("alpha",)),
        lambda: outsider.create_table(("alpha", "mine"), READINGS),
        lambda: outsider.create_namespace(("alpha", "mine")),
        lambda: outsider.drop_table(("alpha", "secret")),
        lambda: outsider.purge_table(("alpha", "secret")),
        lambda: outsider.drop_namespace(("alpha",)),
        lambda: outsider.rename_table(("alpha", "secret"), ("beta", "stolen")),
        lambda: outsider.rename_table(("beta", "mine"), ("alpha", "planted")),
        lambda: outsider.table_exists(("alpha", "secret")),
        lambda: outsider.namespace_exists(("alpha",)),
    ):
        with pytest.raises(ForbiddenError):
            attempt()
    assert outsider.list_namespaces() == [("beta",)]
    with pytest.raises(BadRequestError, match="inside the workspace"):  # alpha's file, in beta
        outsider.register_table(("beta", "stolen"), before)
    assert outsider.list_tables(("beta",)) == []

    with pytest.raises(duckdb.Error, match=r"403|Forbidden"):
        catalog_server.duckdb("outsider", warehouse="alpha")
    duck = catalog_server.duckdb("outsider", warehouse="beta")
    with pytest.raises(duckdb.Error, match=r"403|Forbidden"):
        duck.execute("SELECT * FROM lake.alpha.secret").fetchall()
    assert catalog.load_table(("alpha", "secret")).metadata_location == before
    outcomes = {e["outcome"] for e in _audit(catalog_server, actor="outsider")}
    assert outcomes == {"denied", "failure"}  # every refusal is audited (the 400 is a failure)


def test_roles_limit_what_members_do(catalog_server: CatalogServer) -> None:  # noqa: F811
    editor = catalog_server.pyiceberg("ws_editor")
    editor.create_table(("alpha", "t"), READINGS).append(_readings([1], ["a"]))
    editor.create_namespace(("alpha", "empty"))

    viewer = catalog_server.pyiceberg("ws_viewer")
    assert _rows(viewer.load_table(("alpha", "t"))) == [(1, "a")]
    for attempt in (
        lambda: viewer.create_table(("alpha", "v"), READINGS),
        lambda: viewer.load_table(("alpha", "t")).append(_readings([2], ["b"])),
        lambda: viewer.create_namespace(("alpha", "v")),
        lambda: viewer.update_namespace_properties(("alpha",), updates={"k": "v"}),
        lambda: viewer.rename_table(("alpha", "t"), ("alpha", "v")),
        lambda: viewer.drop_table(("alpha", "t")),
    ):
        with pytest.raises(ForbiddenError):
            attempt()
    viewer_duck = catalog_server.duckdb("ws_viewer")
    assert viewer_duck.execute("SELECT count(*) FROM lake.alpha.t").fetchone() == (1,)
    with pytest.raises(duckdb.Error, match=r"403|Forbidden"):
        viewer_duck.execute("INSERT INTO lake.alpha.t VALUES (2, 'b')")

    with pytest.raises(ForbiddenError):
        editor.drop_table(("alpha", "t"))
    with pytest.raises(ForbiddenError):
        editor.purge_table(("alpha", "t"))
    with pytest.raises(ForbiddenError):
        editor.drop_namespace(("alpha", "empty"))
    with pytest.raises(duckdb.Error, match=r"403|Forbidden"):
        catalog_server.duckdb("ws_editor").execute("DROP TABLE lake.alpha.t")
    assert _rows(editor.load_table(("alpha", "t"))) == [(1, "a")]

    # An archived workspace is read-only, for its admins too.
    headers = bearer(catalog_server.world.tokens["ws_admin"])
    archived = httpx.post(f"{catalog_server.base_url}/api/v1/workspaces/alpha/archive", headers=headers)
    assert archived.status_code == 200, archived.text
    admin = catalog_server.pyiceberg("ws_admin")
    with pytest.raises(ForbiddenError, match="archived"):
        admin.load_table(("alpha", "t")).append(_readings([2], ["b"]))
    with pytest.raises(ForbiddenError, match="archived"):
        admin.drop_table(("alpha", "t"))
    assert _rows(viewer.load_table(("alpha", "t"))) == [(1, "a")]


def test_locations_outside_the_workspace_are_refused(catalog_server: CatalogServer, tmp_path: Path) -> None:  # noqa: F811
    warehouse = catalog_server.settings.resolved_warehouse
    outside = [
        f"{warehouse}/beta/t",
        f"{warehouse}/alpha/../beta/t",
        f"{warehouse}/alpha/%2e%2e/beta/t",
        f"{warehouse}/alphabet/t",
        tmp_path.as_uri(),
        "s3://elsewhere/t",
    ]
    editor = catalog_server.pyiceberg("ws_editor")
    for location in outside:
        with pytest.raises(BadRequestError, match="inside the workspace"):
            editor.create_table(("alpha", "t"), READINGS, location=location)
        with pytest.raises(BadRequestError, match="inside the workspace"):
            editor.create_namespace(("alpha", "n"), {"location": location})
    assert not (catalog_server.settings.home / "warehouse" / "beta" / "t").exists()
    assert editor.list_tables(("alpha",)) == [] and editor.list_namespaces(("alpha",)) == []

    inside = editor.create_table(("alpha", "t"), READINGS, location=f"{warehouse}/alpha/custom/t")
    assert inside.location() == f"{warehouse}/alpha/custom/t"
    with pytest.raises(BadRequestError, match="inside the workspace"):
        editor.update_namespace_properties(("alpha",), updates={"location": f"{warehouse}/beta"})
    with _http(catalog_server, "ws_editor") as http:
        moved = http.post(
            "/alpha/namespaces/alpha/tables/t",
            json={
                "requirements": [],
                "updates": [json.loads(SetLocationUpdate(location=f"{warehouse}/beta/t").model_dump_json())],
            },
        )
        assert moved.status_code == 400, moved.text
        registered = http.post(
            "/alpha/namespaces/alpha/register",
            json={"name": "r", "metadata-location": inside.metadata_location.replace("/alpha/", "/beta/")},
        )
        assert registered.status_code == 400, registered.text
    assert editor.load_table(("alpha", "t")).location() == f"{warehouse}/alpha/custom/t"
