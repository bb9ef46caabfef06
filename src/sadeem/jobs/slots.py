"""Cron schedules in a time zone: validating them and finding their slots (as UTC instants).
croniter does the cron arithmetic in the schedule's zone, so "02:00 every day" stays 02:00
local across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadCronError, CroniterBadDateError, croniter

from sadeem.core.errors import InvalidInput
from sadeem.jobs.schemas import Schedule

# `backfill` after a long outage fires at most this many slots per scheduler pass (the rest follow
# on the next passes), so one job cannot flood the queue in a single transaction.
MAX_SLOTS_PER_PASS = 100


def _zone(schedule: Schedule) -> ZoneInfo:
    try:
        return ZoneInfo(schedule.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(
            f"Unknown time zone '{schedule.timezone}'; use an IANA name like 'Asia/Riyadh'."
        ) from exc


def validate(schedule: Schedule) -> None:
    _zone(schedule)
    fields = schedule.cron.split()
    if len(fields) != 5 or not croniter.is_valid(schedule.cron):
        raise InvalidInput(
            f"'{schedule.cron}' is not a valid cron expression: five fields (minute hour day month weekday)."
        )


def next_after(schedule: Schedule, moment: datetime) -> datetime:
    """The first slot strictly after `moment`."""
    try:
        local = croniter(schedule.cron, moment.astimezone(_zone(schedule))).get_next(datetime)
    except (CroniterBadCronError, CroniterBadDateError) as exc:
        raise InvalidInput(f"The schedule '{schedule.cron}' has no next slot: {exc}.") from exc
    return local.astimezone(UTC)


def upcoming(schedule: Schedule, moment: datetime, count: int) -> list[datetime]:
    """The next `count` slots strictly after `moment`, in the schedule's own zone (what a person
    setting up the schedule wants to read)."""
    validate(schedule)
    zone = _zone(schedule)
    slots: list[datetime] = []
    for _ in range(count):
        moment = next_after(schedule, moment)
        slots.append(moment.astimezone(zone))
    return slots


def due_slots(schedule: Schedule, first: datetime, now: datetime) -> tuple[list[datetime], datetime]:
    """The slots to fire now, starting at `first` (the job's next unfired slot), and the next slot
    after them. `skip` fires only the latest due slot; `backfill` every due slot (bounded per pass)."""
    due: list[datetime] = []
    slot = first
    while slot <= now:
        due.append(slot)
        slot = next_after(schedule, slot)
        if schedule.catch_up == "backfill" and len(due) == MAX_SLOTS_PER_PASS:
            break
    if schedule.catch_up == "skip":
        due = due[-1:]
    return due, slot
