"""The DuckDB engine processes this test process started (statements and runs run in them, never
in the server), read from /proc: their CPU time and resident memory."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sadeem.engines.duckdb_process import WORKING_NAME

_PAGE = os.sysconf("SC_PAGE_SIZE")
_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class EngineProcess:
    pid: int
    working: bool  # it took a statement or attempt (a warm spare has not)
    cpu_seconds: float
    rss_bytes: int


def engine_processes() -> list[EngineProcess]:
    """Live (not zombie) engine processes whose parent is this process, warm spares included."""
    found = []
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue  # it ended meanwhile
        # Fields after the command name, which is in parentheses and may contain spaces.
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        state, parent = fields[0], int(fields[1])
        if parent != me or state == "Z" or b"sadeem.engines.duckdb_process" not in command:
            continue
        cpu = (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime
        found.append(EngineProcess(int(entry.name), name == WORKING_NAME, cpu, int(fields[21]) * _PAGE))
    return found


def engine_cpu_seconds() -> float:
    """CPU time used so far by this process and its live engine processes that have work (not the
    spares warming up, which compute nothing of any statement)."""
    working = sum(p.cpu_seconds for p in engine_processes() if p.working)
    return os.times().user + os.times().system + working
