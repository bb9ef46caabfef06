"""The Iceberg REST catalog's errors: the spec's types on Sadeem's domain errors, pyiceberg's
exceptions translated to them, and the spec's error body (`IcebergErrorResponse`) for every
error under the catalog's path."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from pyiceberg import exceptions as iceberg

from sadeem.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied, SadeemError


class NoSuchNamespace(NotFound):
    iceberg_type = "NoSuchNamespaceException"


class NoSuchTable(NotFound):
    iceberg_type = "NoSuchTableException"


class NoSuchWarehouse(NotFound):
    iceberg_type = "NoSuchWarehouseException"


class AlreadyExists(Conflict):
    iceberg_type = "AlreadyExistsException"


class NamespaceNotEmpty(Conflict):
    iceberg_type = "NamespaceNotEmptyException"


class CommitFailed(Conflict):
    iceberg_type = "CommitFailedException"


class OutsideWorkspaceStorage(Conflict):
    """A table's metadata names a file outside its workspace's storage: the table, not the
    request, is at fault (409), and nothing of the file is read."""

    code = "outside-workspace-storage"


class Forbidden(PermissionDenied):
    iceberg_type = "ForbiddenException"


OAUTH_ENDPOINT = "/v1/oauth/tokens"
# The spec's type for each status when the error carries none of its own.
_TYPE_BY_STATUS = {
    400: "BadRequestException",
    401: "NotAuthorizedException",
    403: "ForbiddenException",
    404: "NoSuchEntityException",
    405: "UnsupportedOperationException",
    406: "UnsupportedOperationException",
    409: "AlreadyExistsException",
    429: "TooManyRequestsException",
    500: "CommitStateUnknownException",
    503: "ServiceUnavailableException",
}


def render_iceberg_error(
    request: Request,
    status: int,
    code: str,
    detail: str,
    headers: Mapping[str, str] | None,
    exc: Exception | None,
) -> Response:
    if status == 422:  # the spec has no 422: a request that does not parse is a bad request
        status = 400
    if request.url.path.endswith(OAUTH_ENDPOINT) and status < 500:
        # The token endpoint's errors are OAuth2's (RFC 6749 §5.2), as the spec's `OAuthError`.
        error = "invalid_client" if status == 401 else "invalid_request"
        return JSONResponse(
            {"error": error, "error_description": detail},
            status_code=status,
            headers=dict(headers or {}) or None,
        )
    kind = getattr(exc, "iceberg_type", None) or _TYPE_BY_STATUS.get(status, "RESTException")
    body = {"error": {"message": detail, "type": kind, "code": status}}
    if status >= 500 and code != "state-unknown":
        body["error"]["type"] = "ServerErrorException"
    del request, code  # the spec's body carries neither the path nor Sadeem's problem code
    return JSONResponse(body, status_code=status, headers=dict(headers or {}) or None)


@contextmanager
def translated() -> Iterator[None]:
    """pyiceberg's exceptions as the catalog's domain errors (the spec's types and statuses)."""
    try:
        yield
    except SadeemError:
        raise
    except iceberg.NoSuchNamespaceError as e:
        raise NoSuchNamespace(str(e)) from e
    except (iceberg.NoSuchTableError, iceberg.NoSuchIdentifierError) as e:
        raise NoSuchTable(str(e)) from e
    except (iceberg.NamespaceAlreadyExistsError, iceberg.TableAlreadyExistsError) as e:
        raise AlreadyExists(str(e)) from e
    except iceberg.NamespaceNotEmptyError as e:
        raise NamespaceNotEmpty(str(e)) from e
    except iceberg.CommitFailedException as e:
        raise CommitFailed(str(e)) from e
    except ValidationError as e:  # a metadata update pyiceberg's models refuse
        what = "; ".join(err["msg"] for err in e.errors(include_url=False, include_input=False)[:3])
        raise InvalidInput(f"Invalid table metadata: {what}") from e
    except ValueError as e:  # pyiceberg's way of refusing an update it cannot apply
        raise InvalidInput(str(e)) from e
    except NotImplementedError as e:  # what pyiceberg cannot write yet: format v3 table metadata
        raise InvalidInput(f"Not supported by Sadeem's catalog: {e}") from e
