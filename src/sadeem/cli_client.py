"""What the `sadeem` commands that talk to a running server share: where the server is (the same
settings `sadeem up` serves on, or `--url`), the personal access token (`--token` or
`SADEEM_TOKEN`), and calls that turn any failure into a one-line error instead of a traceback."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sadeem.config import Settings

out = Console()
err = Console(stderr=True)

WorkspaceOption = Annotated[str, typer.Option("--workspace", "-w", help="Workspace slug.")]
UrlOption = Annotated[
    str | None, typer.Option(help="Sadeem's URL (default: http://SADEEM_HOST:SADEEM_PORT).")
]
TokenOption = Annotated[
    str | None, typer.Option(envvar="SADEEM_TOKEN", help="A personal access token (or SADEEM_TOKEN).")
]
MAX_PAGE = 500  # the API's largest page
LimitOption = Annotated[int, typer.Option("--limit", "-n", min=1, max=10_000, help="Rows to print.")]
ParamOption = Annotated[
    list[str] | None, typer.Option("--param", "-p", help='name=value (JSON values: 5, true, "text").')
]


def fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=1)


def base_url(url: str | None) -> str:
    if url:
        return url.rstrip("/")
    settings = Settings()
    return f"http://{settings.host}:{settings.port}"


def require_token(token: str | None) -> str:
    if not token:
        raise fail("a token is needed: --token or SADEEM_TOKEN (create one with `sadeem tokens create`).")
    return token


def connect(url: str | None, token: str | None) -> httpx.Client:
    return httpx.Client(
        base_url=base_url(url), headers={"Authorization": f"Bearer {require_token(token)}"}, timeout=60
    )


def call(client: httpx.Client, method: str, path: str, **kwargs: Any) -> Any:
    try:
        response = client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        raise fail(escape(f"could not reach {client.base_url}: {type(exc).__name__}: {exc}")) from exc
    if response.status_code >= 400:
        raise fail(escape(f"{response.status_code}: {error_detail(response)}"))
    return None if response.status_code == 204 else response.json()


def items(client: httpx.Client, path: str, limit: int, params: dict[str, Any] | None = None) -> Iterator[Any]:
    """Up to `limit` items of a paged list, following its cursors."""
    cursor: str | None = None
    left = limit
    while left > 0:
        query = {**(params or {}), "limit": min(left, MAX_PAGE)} | ({"cursor": cursor} if cursor else {})
        page = call(client, "GET", path, params=query)
        yield from page["items"][:left]
        left -= len(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            return


def api_path(*parts: str) -> str:
    return "/api/v1/" + "/".join(quote(part, safe="") for part in parts)


def when(value: str | None) -> str:
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M") if value else ""


def new_table(*columns: str) -> Table:
    return Table(*columns, show_edge=False, header_style="bold")


def print_list(
    url: str | None,
    token: str | None,
    path: str,
    limit: int,
    columns: tuple[str, ...],
    row: Callable[[dict[str, Any]], tuple[str, ...]],
    params: dict[str, Any] | None = None,
) -> None:
    """Print up to `limit` items of a paged list as a table, one `row(item)` each."""
    table = new_table(*columns)
    with connect(url, token) as client:
        for item in items(client, path, limit, params):
            table.add_row(*row(item))
    out.print(table)


def parameters(pairs: list[str] | None) -> dict[str, Any]:
    """`--param name=value` pairs; a value that parses as JSON (5, true, "5") is taken as such."""
    found: dict[str, Any] = {}
    for pair in pairs or []:
        name, sep, raw = pair.partition("=")
        if not sep:
            raise fail(f"--param must be name=value, got {pair!r}.")
        try:
            found[name] = json.loads(raw)
        except ValueError:
            found[name] = raw  # plain text needs no quotes
    return found


def error_detail(response: httpx.Response) -> str:
    """What went wrong, from Sadeem's problem+json (with a validation error's fields) or, from
    anything else on the way (a proxy's HTML page), the start of the body."""
    try:
        problem = response.json()
    except ValueError:
        return response.text.strip()[:300] or response.reason_phrase
    if not isinstance(problem, dict):
        return response.text.strip()[:300]
    detail = str(problem.get("detail") or response.reason_phrase)
    errors = problem.get("errors")
    if isinstance(errors, list):
        fields = [
            f"{'.'.join(str(level) for level in error.get('loc', []))}: {error.get('msg')}"
            for error in errors
            if isinstance(error, dict)
        ]
        detail = " ".join([detail, *fields])
    return detail
