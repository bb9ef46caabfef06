"""`sadeem demo`: the spec's demo on this machine, every component real (see sadeem/demo/)."""

from __future__ import annotations

import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from sadeem.cli_client import err, fail, out
from sadeem.demo.flow import DemoFailed, DemoResult, DemoTarget, run_demo
from sadeem.demo.processes import ComponentMissing
from sadeem.demo.stack import demo_stack


class RichProgress:
    """Each step as a spinner while it runs, then a line with its seconds."""

    def step(self, title: str) -> AbstractContextManager[None]:
        return self._step(title)

    @contextmanager
    def _step(self, title: str) -> Iterator[None]:
        started = time.monotonic()
        with out.status(f"{title} …"):
            try:
                yield
            except BaseException:
                out.print(f"[red]✗[/red] {title}  [dim]{time.monotonic() - started:6.1f} s[/dim]")
                raise
        out.print(f"[green]✓[/green] {title}  [dim]{time.monotonic() - started:6.1f} s[/dim]")


def demo(
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Keep the demo's state here (default: a temporary directory, removed)."),
    ] = None,
    stay: Annotated[
        bool,
        typer.Option(
            "--stay/--exit", help="Keep the components running until Ctrl-C (to open the run page)."
        ),
    ] = True,
    sadeem_url: Annotated[
        str | None, typer.Option(help="Reuse this running Sadeem (with --token, --trino-host/--trino-port).")
    ] = None,
    token: Annotated[
        str | None, typer.Option(envvar="SADEEM_TOKEN", help="An API token of the reused Sadeem.")
    ] = None,
    trino_host: Annotated[str, typer.Option(help="The reused Trino's host.")] = "127.0.0.1",
    trino_port: Annotated[int | None, typer.Option(help="Reuse this running Trino.")] = None,
    trino_catalog: Annotated[
        str, typer.Option(help="The reused Trino's Iceberg catalog on the reused Sadeem.")
    ] = "iceberg",
) -> None:
    """The spec's demo end to end: ingest sample meter readings → a Spark job writes an Iceberg
    table on S3 → a Trino SQL job aggregates it → the result, on the console's run page.

    Starts SeaweedFS (S3), Sadeem (`sadeem up`, s3:// warehouse) and Trino on 127.0.0.1, unless
    --sadeem-url and --trino-port name running ones; Spark runs in local mode. Needs `make spark`
    and `make trino` (`make demo` runs both first).
    """
    # Ctrl-C and SIGTERM stop the components in reverse order (SIGINT too when a shell started
    # this in the background with SIGINT ignored).
    previous_handlers = {stop: signal.signal(stop, _interrupt) for stop in (signal.SIGINT, signal.SIGTERM)}
    progress = RichProgress()
    try:
        if sadeem_url:
            if not token or trino_port is None:
                raise fail("reusing a Sadeem needs --token and a Trino with a catalog on it (--trino-port)")
            target = DemoTarget(sadeem_url.rstrip("/"), token, trino_host, trino_port, trino_catalog)
            _show(run_demo(target, progress), login=None)
            return
        scratch = directory or Path(tempfile.mkdtemp(prefix="sadeem-demo-"))
        try:
            with demo_stack(scratch, progress) as stack:
                out.print(
                    f"Sadeem [bold]{stack.sadeem.url}[/bold]  "
                    f"S3 {stack.s3.endpoint_url}  Trino {stack.trino_url}"
                )
                result = run_demo(stack.target, progress)
                _show(result, login=("admin", stack.sadeem.admin_password))
                if stay:
                    out.print("The components keep running; [bold]Ctrl-C[/bold] stops them.")
                    while True:
                        time.sleep(3600)
        finally:
            if directory is None:
                shutil.rmtree(scratch, ignore_errors=True)
    except KeyboardInterrupt:
        err.print("Stopped.")
    except ComponentMissing as error:
        raise fail(escape(str(error))) from error
    except (DemoFailed, RuntimeError) as error:
        raise fail(escape(str(error))) from error
    finally:
        for stop, handler in previous_handlers.items():
            signal.signal(stop, handler)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return escape(str(value))


def _interrupt(*_: Any) -> None:
    raise KeyboardInterrupt


def _show(result: DemoResult, login: tuple[str, str] | None) -> None:
    table = Table(title="Energy per region (Trino, from the Spark-built Iceberg table)")
    for column in result.columns:
        table.add_column(column, justify="left" if column == "region" else "right")
    for row in result.rows:
        table.add_row(*(_cell(value) for value in row))
    out.print(table)
    steps = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in result.seconds.items())
    out.print(f"{result.ingested_rows:,} readings ingested; {steps}")
    out.print(f"The run page: [bold]{result.run_url}[/bold]")
    if login:
        out.print(f"Log in as [bold]{login[0]}[/bold] with the password [bold]{escape(login[1])}[/bold]")
