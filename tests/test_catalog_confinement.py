"""Security issue #10: what the server reads for a workspace stays inside that workspace's storage,
whatever a commit made its manifests say, and a registration of a missing metadata file is the
caller's mistake, not a server error. Each attack is made as the role that made it, through the
Iceberg REST catalog, and each refusal leaves the server serving and nothing changed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from pyiceberg.io import load_file_io
from pyiceberg.manifest import DataFile

from sadeem.catalog.errors import OutsideWorkspaceStorage
from sadeem.catalog.storage import WorkspaceFileIO, local_path
from sadeem.config import Settings
from sadeem.runs import results
from tests.catalog_support import CatalogServer, catalog_server  # noqa: F401
from tests.conftest import bearer
from tests.iceberg_tables import SIMPLE_SCHEMA, arrow, catalog, make_table

SECRET = "alpha-only-secret"


def _explorer(server: CatalogServer, who: str, workspace: str, path: str, **params: Any) -> httpx.Response:
    return httpx.get(
        f"{server.base_url}/api/v1/workspaces/{workspace}/catalog{path}",
        params=params,
        headers=bearer(server.world.tokens[who]),
    )


def _alpha_data_files(server: CatalogServer) -> list[DataFile]:
    with catalog(server.db, server.settings) as cat:
        return [task.file for task in cat.load_table(("alpha", "secrets")).scan().plan_files()]


def test_a_manifest_naming_another_workspaces_file_is_never_read(
    catalog_server: CatalogServer,  # noqa: F811
) -> None:
    server = catalog_server
    make_table(server.db, server.settings, ("alpha", "secrets"), rows={"id": [1], "name": [SECRET]})
    stolen = _alpha_data_files(server)
    alpha_before = _explorer(server, "ws_viewer", "alpha", "/tables/alpha/secrets").json()

    # The attacker administers workspace beta. Its commit names alpha's data file in a manifest
    # written to beta's own storage: the manifest list is inside beta, so the commit is accepted.
    attacker = server.pyiceberg("outsider", warehouse="beta")
    loot = attacker.create_table(("beta", "loot"), SIMPLE_SCHEMA)
    loot.append(arrow(SIMPLE_SCHEMA, {"id": [7], "name": ["beta's own"]}))
    honest = loot.current_snapshot()
    with loot.transaction() as transaction, transaction.update_snapshot().fast_append() as append:
        for data_file in stolen:
            append.append_data_file(data_file)
    loot = attacker.load_table(("beta", "loot"))
    crafted = loot.current_snapshot()
    assert honest is not None and crafted is not None and crafted.snapshot_id != honest.snapshot_id

    previews = [
        _explorer(server, "outsider", "beta", "/tables/beta/loot/preview"),
        _explorer(server, "outsider", "beta", "/tables/beta/loot/preview", snapshot_id=crafted.snapshot_id),
        _explorer(server, "outsider", "beta", "/tables/beta/loot/preview", ref="main"),
    ]
    for refused in previews:
        assert refused.status_code == 409, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        problem = refused.json()
        assert problem["type"] == "urn:sadeem:problem:outside-workspace-storage"
        assert (
            "Table beta.loot" in problem["detail"] and "outside its workspace's storage" in problem["detail"]
        )
        assert SECRET not in refused.text

    # What does not open the foreign file still answers; the snapshot before the attack reads.
    assert _explorer(server, "outsider", "beta", "/tables/beta/loot").status_code == 200
    listed = _explorer(server, "outsider", "beta", "/tables/beta/loot/files").json()
    assert {f["path"] for f in listed["items"]} >= {f.file_path for f in stolen}
    before = _explorer(
        server, "outsider", "beta", "/tables/beta/loot/preview", snapshot_id=honest.snapshot_id
    )
    assert before.status_code == 200 and before.json()["rows"] == [[7, "beta's own"]]

    # Still serving, and nothing changed: alpha's table and file, beta's table as committed.
    assert _explorer(server, "ws_viewer", "alpha", "/tables/alpha/secrets").json() == alpha_before
    alpha_rows = _explorer(server, "ws_viewer", "alpha", "/tables/alpha/secrets/preview").json()["rows"]
    assert alpha_rows == [[1, SECRET]]
    for data_file in stolen:
        path = local_path(data_file.file_path)
        assert path is not None and path.is_file()
    after = attacker.load_table(("beta", "loot")).current_snapshot()
    assert after is not None and after.snapshot_id == crafted.snapshot_id


def test_the_server_file_io_refuses_every_path_outside_the_workspace(tmp_path: Path) -> None:
    root = (tmp_path / "warehouse" / "beta").as_uri()
    io = WorkspaceFileIO(load_file_io({}, root), root, "beta.t")
    inside = f"{root}/t/data/part-0.parquet"
    io.new_output(inside).create().close()
    assert io.new_input(inside).exists()
    for outside in [
        (tmp_path / "warehouse" / "alpha" / "t" / "data.parquet").as_uri(),
        f"{root}-evil/t/data.parquet",  # a sibling whose name starts with the workspace's
        f"{root}/../alpha/t/data.parquet",
        f"{root}/%2e%2e/alpha/t/data.parquet",
        str(tmp_path / "warehouse" / "beta" / "t" / "data.parquet"),  # no scheme: not the storage's
    ]:
        with pytest.raises(OutsideWorkspaceStorage):
            io.new_input(outside)
        with pytest.raises(OutsideWorkspaceStorage):
            io.new_output(outside)
        with pytest.raises(OutsideWorkspaceStorage):
            io.delete(outside)
    with pytest.raises(OutsideWorkspaceStorage, match="outside any workspace"):
        WorkspaceFileIO(load_file_io({}, root), None, "orphan.t").new_input(inside)


def test_registering_a_missing_metadata_file_is_a_bad_request(
    catalog_server: CatalogServer,  # noqa: F811
) -> None:
    server = catalog_server
    with catalog(server.db, server.settings) as cat:
        root = cat.load_namespace_properties(("alpha",))["location"]
    url = f"{server.uri}/v1/alpha/namespaces/alpha/register"
    headers = bearer(server.world.tokens["ws_editor"])
    for location in [f"{root}/nowhere/metadata/00000-missing.metadata.json", f"{root}"]:
        response = httpx.post(url, json={"name": "ghost", "metadata-location": location}, headers=headers)
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["type"] == "BadRequestException" and location in error["message"]
    # The server still serves, and no table was registered.
    tables = httpx.get(f"{server.uri}/v1/alpha/namespaces/alpha/tables", headers=headers)
    assert tables.status_code == 200 and tables.json()["identifiers"] == []
    assert {event["status_code"] for event in server.audit_events(action="register_table")} == {400}


def test_run_results_have_unguessable_paths_and_download_only_from_their_workspace(tmp_path: Path) -> None:
    alpha = (tmp_path / "warehouse" / "alpha").as_uri()
    first, second = (results.result_location(alpha, 12, 1) for _ in range(2))
    assert first != second  # the same run and attempt: still another path
    token = re.fullmatch(
        re.escape(alpha) + r"/_sadeem/runs/12/attempt-1-([0-9a-f]{32})/result\.parquet", first
    )
    assert token is not None
    beta = (tmp_path / "warehouse" / "beta").as_uri()
    with pytest.raises(OutsideWorkspaceStorage):
        results.open_result(Settings(home=tmp_path), beta, first)
