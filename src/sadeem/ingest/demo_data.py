"""Demo data: interval readings from a small utility's smart meters.

The numbers follow the shapes people expect to see when they first query a lakehouse: homes peak in
the morning and evening, offices during working hours on weekdays, factories run flat out; summer
cooling raises every load; voltage sags a little under load; a few readings are estimated or
missing. Generation is deterministic (same arguments, same rows) and vectorised with pyarrow, so
the demo loads in well under a second and the benchmark can produce a gigabyte in seconds.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from pyiceberg.catalog import Catalog

from sadeem.core.errors import Conflict
from sadeem.ingest.service import IngestResult, ingest

DEMO_TABLE = "meter_readings"

METER_READINGS_SCHEMA = pa.schema(
    [
        pa.field("meter_id", pa.string()),
        pa.field("customer_class", pa.string()),
        pa.field("region", pa.string()),
        pa.field("reading_at", pa.timestamp("us")),
        pa.field("kwh", pa.float64()),
        pa.field("voltage", pa.float64()),
        pa.field("quality_flag", pa.string()),
    ]
)

CUSTOMER_CLASSES = ("residential", "commercial", "industrial")
_CLASS_WEIGHTS = (0.72, 0.20, 0.08)
# Average demand in kW for a typical meter of each class.
_CLASS_BASE_KW = (0.9, 6.0, 45.0)
REGIONS = ("central", "north", "south", "east", "west")
QUALITY_FLAGS = ("missing", "estimated", "ok")
_MISSING_SHARE = 0.005
_ESTIMATED_SHARE = 0.025
_NOMINAL_VOLTAGE = 230.0
_MICROS_PER_DAY = 86_400_000_000


@dataclass(frozen=True)
class _Fleet:
    """Per-meter attributes, drawn once so every day of readings agrees on them."""

    meter_ids: pa.Array
    class_codes: pa.Array
    regions: pa.Array
    load_scale: pa.Array
    voltage_offset: pa.Array


def _fleet(meters: int, seed: int) -> _Fleet:
    draw = random.Random(seed)
    class_codes = draw.choices(range(len(CUSTOMER_CLASSES)), weights=_CLASS_WEIGHTS, k=meters)
    return _Fleet(
        meter_ids=pa.array([f"MTR-{number:05d}" for number in range(1, meters + 1)], pa.string()),
        class_codes=pa.array(class_codes, pa.int32()),
        regions=pa.array([draw.choice(REGIONS) for _ in range(meters)], pa.string()),
        load_scale=pa.array([draw.lognormvariate(0.0, 0.35) for _ in range(meters)], pa.float64()),
        voltage_offset=pa.array([draw.gauss(0.0, 2.0) for _ in range(meters)], pa.float64()),
    )


def _daily_shape(class_code: int, hour: float, weekday: int) -> float:
    """Relative demand of a customer class at an hour of the day (1.0 = the class average)."""
    weekend = weekday >= 5
    if class_code == 0:  # homes: breakfast and evening peaks, a little more at weekends
        morning = 0.6 * math.exp(-(((hour - 7.5) / 1.5) ** 2))
        evening = 1.1 * math.exp(-(((hour - 19.5) / 2.2) ** 2))
        return (0.55 + morning + evening) * (1.08 if weekend else 1.0)
    if class_code == 1:  # offices and shops: business hours on weekdays
        open_hours = 1.0 / (1.0 + math.exp(-(hour - 8.0) * 2)) - 1.0 / (1.0 + math.exp(-(hour - 18.0) * 2))
        return 0.35 + (0.45 if weekend else 1.25) * open_hours
    return 0.9 + (0.1 if 6 <= hour < 22 else 0.0) - (0.15 if weekend else 0.0)  # factories


def _cooling_factor(day: dt.date) -> float:
    """Summer air conditioning: demand rises towards late July and falls after."""
    day_of_year = day.timetuple().tm_yday
    return 1.0 + 0.35 * max(0.0, math.cos(2 * math.pi * (day_of_year - 205) / 365))


def _standard_normal(size: int, seed: int) -> pa.Array:
    """Box-Muller over pyarrow's seeded uniform generator (no numpy in the runtime)."""
    u1 = pc.subtract(1.0, pc.random(size, initializer=seed))  # (0, 1]: safe for ln
    u2 = pc.random(size, initializer=seed + 1)
    radius = pc.sqrt(pc.multiply(-2.0, pc.ln(u1)))
    return pc.multiply(radius, pc.cos(pc.multiply(2 * math.pi, u2)))


def meter_reading_batches(
    *,
    meters: int = 200,
    days: int = 60,
    readings_per_day: int = 8,
    start: dt.date = dt.date(2024, 6, 1),
    seed: int = 7,
) -> Iterator[pa.RecordBatch]:
    """Readings one day at a time (one batch per day, ordered by time then meter)."""
    if meters < 1 or days < 0 or readings_per_day < 1 or 1440 % readings_per_day:
        raise ValueError("meters >= 1, days >= 0, and readings_per_day must divide 1440")
    fleet = _fleet(meters, seed)
    rows = meters * readings_per_day
    interval_micros = _MICROS_PER_DAY // readings_per_day
    interval_hours = 24 / readings_per_day
    meter_of_row = pa.array([meter for _ in range(readings_per_day) for meter in range(meters)], pa.int32())
    slot_of_row = pa.array([slot for slot in range(readings_per_day) for _ in range(meters)], pa.int32())
    class_of_row = fleet.class_codes.take(meter_of_row)
    shape_index = pc.add(pc.multiply(class_of_row, readings_per_day), slot_of_row)
    customer_class = pa.array(CUSTOMER_CLASSES, pa.string()).take(class_of_row)
    meter_id = fleet.meter_ids.take(meter_of_row)
    region = fleet.regions.take(meter_of_row)
    scale = fleet.load_scale.take(meter_of_row)
    voltage_offset = fleet.voltage_offset.take(meter_of_row)
    offset_in_day = pc.multiply(slot_of_row.cast(pa.int64()), interval_micros)
    epoch = dt.date(1970, 1, 1)

    for day_number in range(days):
        day = start + dt.timedelta(days=day_number)
        day_seed = seed * 1_000_003 + day_number * 8
        cooling = _cooling_factor(day)
        # Expected kWh for every (class, slot) of this day; rows pick theirs by index.
        expected = pa.array(
            [
                _CLASS_BASE_KW[code]
                * _daily_shape(code, (slot + 0.5) * interval_hours, day.weekday())
                * cooling
                * interval_hours
                for code in range(len(CUSTOMER_CLASSES))
                for slot in range(readings_per_day)
            ],
            pa.float64(),
        ).take(shape_index)
        noise = _standard_normal(rows, day_seed)
        kwh = pc.multiply(pc.multiply(expected, scale), pc.exp(pc.multiply(0.18, noise)))
        # Heavier load draws the local voltage down a little.
        relative_load = pc.divide(kwh, pc.multiply(expected, 2.0))
        voltage = pc.add(
            pc.subtract(pc.add(_NOMINAL_VOLTAGE, voltage_offset), pc.multiply(3.0, relative_load)),
            pc.multiply(1.2, _standard_normal(rows, day_seed + 2)),
        )
        quality_draw = pc.random(rows, initializer=day_seed + 4)
        quality_code = pc.add(
            pc.greater_equal(quality_draw, _MISSING_SHARE).cast(pa.int8()),
            pc.greater_equal(quality_draw, _MISSING_SHARE + _ESTIMATED_SHARE).cast(pa.int8()),
        )
        missing = pc.equal(quality_code, 0)
        day_start = (day - epoch).days * _MICROS_PER_DAY
        yield pa.RecordBatch.from_arrays(
            [
                meter_id,
                customer_class,
                region,
                pc.add(offset_in_day, day_start).cast(pa.timestamp("us")),
                pc.if_else(missing, pa.scalar(None, pa.float64()), pc.round(kwh, 3)),
                pc.if_else(missing, pa.scalar(None, pa.float64()), pc.round(voltage, 1)),
                pa.array(QUALITY_FLAGS, pa.string()).take(quality_code),
            ],
            schema=METER_READINGS_SCHEMA,
        )


def meter_readings(
    *,
    meters: int = 200,
    days: int = 60,
    readings_per_day: int = 8,
    start: dt.date = dt.date(2024, 6, 1),
    seed: int = 7,
) -> pa.Table:
    """The whole data set as one table (fine for the demo's ~100k rows; stream larger ones)."""
    batches = meter_reading_batches(
        meters=meters, days=days, readings_per_day=readings_per_day, start=start, seed=seed
    )
    return pa.Table.from_batches(list(batches), schema=METER_READINGS_SCHEMA)


def write_meter_readings_csv(path: Path, batches: Iterator[pa.RecordBatch]) -> int:
    """Write readings as CSV, one batch at a time; return the number of rows written.

    Times are written to the second (`2024-06-01 03:00:00`), as people's exports look.
    """
    csv_schema = METER_READINGS_SCHEMA.set(
        METER_READINGS_SCHEMA.get_field_index("reading_at"), pa.field("reading_at", pa.timestamp("s"))
    )
    rows = 0
    with pa_csv.CSVWriter(str(path), csv_schema) as writer:
        for batch in batches:
            writer.write_batch(batch.cast(csv_schema))
            rows += batch.num_rows
    return rows


def load_demo(catalog: Catalog, namespace: str) -> IngestResult | None:
    """Create `<namespace>.meter_readings` from the demo CSV, once.

    Returns None when the table already exists (also when a concurrent loader created it first),
    so callers can run this on every start.
    """
    identifier = (namespace, DEMO_TABLE)
    if catalog.table_exists(identifier):
        return None
    with tempfile.TemporaryDirectory(prefix="sadeem-demo-") as scratch:
        source = Path(scratch) / f"{DEMO_TABLE}.csv"
        write_meter_readings_csv(source, meter_reading_batches())
        try:
            return ingest(catalog, identifier, source, "csv", "create")
        except Conflict:
            if catalog.table_exists(identifier):
                return None
            raise
