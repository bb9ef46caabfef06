"""The schedule preview API: the next fire times of a cron in its time zone, as the scheduler
would fire them, and bad input refused as a 400 naming what is wrong."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from fastapi.testclient import TestClient

from sadeem.jobs import slots
from sadeem.jobs.schemas import Schedule
from tests.conftest import World, bearer


def test_every_minute_in_riyadh_gives_five_consecutive_minutes_at_plus_three(
    client: TestClient, world: World
) -> None:
    before = datetime.now().astimezone()
    response = client.get(
        "/api/v1/schedule-preview",
        params={"cron": "* * * * *", "timezone": "Asia/Riyadh"},
        headers=bearer(world.tokens["ws_viewer"]),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["cron"] == "* * * * *" and body["timezone"] == "Asia/Riyadh"
    times = [datetime.fromisoformat(t) for t in body["fire_times"]]
    assert len(times) == 5
    assert all(t.utcoffset() == timedelta(hours=3) for t in times)  # Riyadh: UTC+3, no DST
    assert all(t.second == 0 and t.microsecond == 0 for t in times)
    assert all(later - earlier == timedelta(minutes=1) for earlier, later in itertools.pairwise(times))
    assert before < times[0] <= before + timedelta(minutes=1)


def test_the_preview_is_what_the_scheduler_fires() -> None:
    """Across a daylight-saving change, 02:30 every day stays 02:30 local (croniter in the zone;
    on the night 02:30 does not exist it fires once, at 03:00), and the preview's instants are the
    scheduler's slots."""
    schedule = Schedule(cron="30 2 * * *", timezone="Europe/Berlin")
    start = datetime.fromisoformat("2026-03-27T12:00:00+00:00")
    preview = slots.upcoming(schedule, start, 4)
    fired = []
    moment = start
    for _ in range(4):
        moment = slots.next_after(schedule, moment)
        fired.append(moment)
    assert preview == fired  # equal instants, whatever the zone they are written in
    assert [t.strftime("%d %H:%M %z") for t in preview] == [
        "28 02:30 +0100",
        "29 03:00 +0200",
        "30 02:30 +0200",
        "31 02:30 +0200",
    ]


def test_count_and_bad_input(client: TestClient, world: World) -> None:
    headers = bearer(world.tokens["ws_viewer"])
    ten = client.get("/api/v1/schedule-preview", params={"cron": "0 2 * * 1-5", "count": 10}, headers=headers)
    assert ten.status_code == 200 and len(ten.json()["fire_times"]) == 10
    assert all(datetime.fromisoformat(t).weekday() < 5 for t in ten.json()["fire_times"])
    for params, fragment in (
        ({"cron": "61 * * * *"}, "not a valid cron"),
        ({"cron": "* * * * * *"}, "five fields"),
        ({"cron": "* * * * *", "timezone": "Mars/Olympus"}, "Unknown time zone"),
    ):
        response = client.get("/api/v1/schedule-preview", params=params, headers=headers)
        assert response.status_code == 400, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert fragment in response.json()["detail"]
    url = "/api/v1/schedule-preview"
    too_many = client.get(url, params={"cron": "* * * * *", "count": 51}, headers=headers)
    assert too_many.status_code == 422, too_many.text
    assert client.get("/api/v1/schedule-preview", params={"cron": "* * * * *"}).status_code == 401
