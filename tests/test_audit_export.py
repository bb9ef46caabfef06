"""What the console's audit page adds to the trail's API: the CSV export (streamed in keyset
batches, the list's filters and permissions, safe to open in a spreadsheet, itself audited), one
event by its sequence number, and the chain verification with its time limit."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from sadeem.audit import service as audit
from sadeem.audit.models import AuditEvent
from sadeem.core.actor import Actor
from sadeem.core.clock import utcnow
from sadeem.db.engine import Database
from tests.conftest import World
from tests.test_audit import _make_traffic, _walk, as_db_owner, events

URL = "/api/v1/audit/events.csv"


def rows_of(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith('attachment; filename="audit-')
    return list(csv.DictReader(io.StringIO(response.text)))


def bulk_events(db: Database, count: int, batch: int = 1000, **fields: Any) -> None:
    """`count` events, `batch` to a transaction (as many requests' worth as that)."""
    for start in range(0, count, batch):
        with db.unit_of_work("test.bulk") as session:
            for i in range(start, min(count, start + batch)):
                audit.append(
                    session,
                    AuditEvent(
                        occurred_at=utcnow(),
                        actor="bulk",
                        action="bulk_thing",
                        outcome="success",
                        target_type="thing",
                        target_id=str(i),
                        details={"i": i},
                        **fields,
                    ),
                )


# --- the CSV export ----------------------------------------------------------------------------


def test_export_has_every_field_and_follows_the_lists_filters(
    client: TestClient, world: World, db: Database
) -> None:
    _make_traffic(client, world)
    root = world.headers("root")
    stored = {e.seq: e for e in events(db)}
    everything = rows_of(client.get(URL, headers=root))
    assert list(everything[0]) == list(audit.CSV_COLUMNS)
    assert [int(r["seq"]) for r in everything] == sorted(stored, reverse=True)  # newest first
    for row in everything:
        event = stored[int(row["seq"])]
        assert row["hash"] == event.hash and row["prev_hash"] == event.prev_hash
        assert row["actor"] == (event.actor or "") and row["request_id"] == (event.request_id or "")
        assert json.loads(row["details"]) == event.details
        assert row["occurred_at"] == event.occurred_at.isoformat()
        assert row["status_code"] == ("" if event.status_code is None else str(event.status_code))

    middle = events(db)[len(stored) // 2].occurred_at.isoformat()
    for params in (
        {"actor": "ws_editor"},
        {"outcome": "denied"},
        {"workspace": "alpha"},
        {"action": "create_workspace", "since": middle},
        {"until": middle, "outcome": "success"},
    ):
        exported = [int(r["seq"]) for r in rows_of(client.get(URL, params=params, headers=root))]
        listed = [e["seq"] for e in _walk(client, "/api/v1/audit/events", root, **params)]
        # The list may see events recorded since (the export's own, an admin token's use).
        assert exported == [seq for seq in listed if seq <= exported[0]], params
        assert exported, params
    assert client.get(URL, params={"outcome": "maybe"}, headers=root).status_code == 422


def test_export_needs_the_same_permission_as_the_list(client: TestClient, world: World) -> None:
    _make_traffic(client, world)
    assert client.get(URL).status_code == 401
    assert client.get(URL, headers=world.headers("ws_admin")).status_code == 403

    alpha = "/api/v1/workspaces/alpha/audit/events.csv"
    rows = rows_of(client.get(alpha, headers=world.headers("ws_admin")))
    assert rows and {r["workspace"] for r in rows} == {"alpha"}
    listed = _walk(client, "/api/v1/workspaces/alpha/audit/events", world.headers("ws_admin"))
    # The export of alpha is itself an alpha event, recorded after it: the list sees it too.
    assert [int(r["seq"]) for r in rows] == [e["seq"] for e in listed if e["action"] != "export_audit_events"]
    widened = rows_of(client.get(alpha, params={"workspace": "beta"}, headers=world.headers("ws_admin")))
    assert {r["workspace"] for r in widened} == {"alpha"}
    assert client.get(alpha, headers=world.headers("ws_viewer")).status_code == 403
    assert client.get(alpha, headers=world.headers("ws_editor")).status_code == 403
    assert client.get(alpha, headers=world.headers("outsider")).status_code == 404
    assert client.get(alpha).status_code == 401
    assert {r["workspace"] for r in rows_of(client.get(alpha, headers=world.headers("root")))} == {"alpha"}


def test_export_cells_cannot_run_as_spreadsheet_formulas(
    client: TestClient, world: World, db: Database
) -> None:
    nasty = ['=HYPERLINK("http://evil")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx"]
    with db.unit_of_work("test.nasty") as session:
        for value in nasty:
            audit.record(session, Actor.system(value), target_type="thing", target_id=value, action=value)
    rows = rows_of(client.get(URL, params={"target_type": "thing"}, headers=world.headers("root")))
    assert len(rows) == len(nasty)
    for row, value in zip(rows, reversed(nasty), strict=True):
        for column in ("actor", "action", "target_id"):
            assert row[column] == "'" + value, (column, row[column])
    # Harmless text and numbers are left alone.
    assert audit.csv_safe("create_workspace") == "create_workspace"
    assert audit.csv_safe("a=b") == "a=b"
    assert audit.csv_safe(-5) == -5
    assert audit.csv_safe(None) is None


def test_the_export_is_audited(client: TestClient, world: World, db: Database) -> None:
    _make_traffic(client, world)
    response = client.get(
        "/api/v1/workspaces/alpha/audit/events.csv",
        params={"outcome": "denied"},
        headers={**world.headers("ws_admin"), "X-Request-ID": "export-1"},
    )
    rows = rows_of(response)
    (event,) = [e for e in events(db, request_id="export-1") if e.action == "export_audit_events"]
    assert (event.actor, event.workspace, event.outcome) == ("ws_admin", "alpha", "success")
    assert event.target_type == "audit_events"
    assert event.details["rows"] == len(rows) > 0
    assert event.details["complete"] is True
    assert event.details["bytes"] == len(response.content)
    assert event.details["filters"] == {"outcome": "denied", "workspace": "alpha"}


def test_a_large_export_streams_in_batches_with_constant_memory(
    client: TestClient, world: World, db: Database
) -> None:
    total = 12_000
    bulk_events(db, total, workspace="big")
    # Over HTTP: every event, newest first, nothing lost between batches.
    rows = rows_of(client.get(URL, params={"workspace": "big"}, headers=world.headers("root")))
    assert len(rows) == total
    seqs = [int(r["seq"]) for r in rows]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == total
    assert {r["target_id"] for r in rows} == {str(i) for i in range(total)}

    # The generator: one chunk per batch (after the header), and memory bounded by a batch, not
    # by the export: exporting all 12,000 events peaks no higher than exporting the last 2,000.
    def export(filters: audit.AuditFilters) -> tuple[list[int], int, audit.ExportProgress]:
        progress = audit.ExportProgress()
        sizes: list[int] = []
        tracemalloc.start()
        try:
            for chunk in audit.export_csv(db, filters, progress, batch=500):
                sizes.append(len(chunk))
                del chunk
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        return sizes, peak, progress

    recent = events(db, workspace="big")[-2000].occurred_at
    export(audit.AuditFilters(workspace="big", since=recent))  # warm up (statement caches)
    _, small_peak, small = export(audit.AuditFilters(workspace="big", since=recent))
    sizes, peak, progress = export(audit.AuditFilters(workspace="big"))
    assert len(sizes) == 1 + total // 500
    assert progress.rows == total and progress.complete and progress.bytes == sum(sizes)
    assert 2000 <= small.rows < 2500  # events of one batch may share a timestamp
    assert sum(sizes) > 2_000_000
    assert peak < 1.3 * small_peak, (small_peak, peak, sum(sizes))


def test_an_export_with_no_match_is_just_the_header(client: TestClient, world: World) -> None:
    response = client.get(URL, params={"actor": "nobody"}, headers=world.headers("root"))
    assert rows_of(response) == []
    assert response.text.strip() == ",".join(audit.CSV_COLUMNS)


# --- one event ---------------------------------------------------------------------------------


def test_one_event_by_its_sequence_number(client: TestClient, world: World, db: Database) -> None:
    _make_traffic(client, world)
    alpha_event = events(db, workspace="alpha")[0]
    other = next(e for e in events(db) if e.workspace != "alpha")
    got = client.get(f"/api/v1/audit/events/{other.seq}", headers=world.headers("root"))
    assert got.status_code == 200
    assert got.json()["hash"] == other.hash and got.json()["prev_hash"] == other.prev_hash
    assert client.get("/api/v1/audit/events/999999", headers=world.headers("root")).status_code == 404
    refused = client.get(f"/api/v1/audit/events/{other.seq}", headers=world.headers("ws_admin"))
    assert refused.status_code == 403

    url = "/api/v1/workspaces/alpha/audit/events/{}"
    mine = client.get(url.format(alpha_event.seq), headers=world.headers("ws_admin"))
    assert mine.status_code == 200 and mine.json()["seq"] == alpha_event.seq
    # Another workspace's event is not there, whoever asks.
    for who in ("ws_admin", "root"):
        assert client.get(url.format(other.seq), headers=world.headers(who)).status_code == 404
    assert client.get(url.format(alpha_event.seq), headers=world.headers("ws_viewer")).status_code == 403


# --- the chain's verification ------------------------------------------------------------------


def test_verification_reports_an_intact_chain(client: TestClient, world: World, db: Database) -> None:
    _make_traffic(client, world)
    response = client.get("/api/v1/audit/verification", headers=world.headers("root"))
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["status"] == "ok"
    assert report["events_checked"] == report["chain_length"] >= len(events(db)) - 1
    assert report["first_broken_seq"] is None and report["problem"] is None
    assert report["duration_ms"] >= 0 and report["time_limit_seconds"] == 10
    assert client.get("/api/v1/audit/verification", headers=world.headers("ws_admin")).status_code == 403
    assert client.get("/api/v1/audit/verification").status_code == 401
    for bad in ("0", "301", "soon"):
        assert (
            client.get(
                "/api/v1/audit/verification", params={"time_limit": bad}, headers=world.headers("root")
            ).status_code
            == 422
        )


def test_verification_reports_where_the_chain_broke(client: TestClient, world: World, db: Database) -> None:
    _make_traffic(client, world)
    with as_db_owner(db) as connection:
        connection.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 4"))
    report = client.get("/api/v1/audit/verification", headers=world.headers("root")).json()
    assert report["status"] == "broken"
    assert (report["first_broken_seq"], report["events_checked"]) == (4, 3)
    assert "edited" in report["problem"]


def test_verification_stops_at_its_time_limit(db: Database) -> None:
    bulk_events(db, 3500)
    ticks = iter(range(1000))
    with db.reads() as session:
        # A clock that advances one second per look: the first look (after 1,000 events) is past
        # a 1.5 s limit.
        report = audit.verify_chain(session, time_limit=1.5, clock=lambda: float(next(ticks)))
    assert (report.ok, report.complete) == (True, False)
    assert report.events_checked == 2000 and report.chain_length == 3500
    with db.reads() as session:
        whole = audit.verify_chain(session, time_limit=60)
    assert (whole.ok, whole.complete, whole.events_checked) == (True, True, 3500)
