"""Declared error responses, so the OpenAPI document lists every status a route can return.

Routes name the statuses their own logic returns (`errors(409)`); the statuses that follow from
a route's permission (401, 403, 404 on a workspace) and from having parameters or a body
(400, 422) are added by `openapi.implied_statuses`.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from sadeem.api.problems import PROBLEM_MEDIA_TYPE, Problem


def problem_response_doc(status: int, description: str | None = None) -> dict[str, Any]:
    return {
        "model": Problem,
        "description": description or HTTPStatus(status).phrase,
        "content": {PROBLEM_MEDIA_TYPE: {}},
    }


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: problem_response_doc(status) for status in statuses}
