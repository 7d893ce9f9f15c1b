"""The OpenAPI 3.1 description of ``/api/v1``, written by hand and kept in step by a test
(tests/api/test_openapi.py compares its paths with ``app.url_map`` and checks answers against
its schemas)."""

from __future__ import annotations

import copy
from typing import Any

VERSION = "1.0.0"


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "type": [schema["type"], "null"]}


def _object(properties: dict[str, Any], description: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }
    if description:
        schema["description"] = description
    return schema


STRING = {"type": "string"}
INTEGER = {"type": "integer"}
ID = {"type": "integer", "minimum": 1}
TIME = {"type": "string", "format": "date-time", "description": "ISO 8601 in UTC, with offset"}
DATE = {"type": "string", "format": "date"}
MARK = {
    "type": "string",
    "pattern": r"^-?\d+\.\d{2}$",
    "description": 'A decimal mark as a string with two places, e.g. "7.50"',
}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "properties": {
            "error": {"type": "string", "description": "A stable machine-readable kind"},
            "message": {"type": "string", "description": "In the caller's language"},
            "field": {"type": "string", "description": "The query parameter at fault (422)"},
        },
        "required": ["error", "message"],
    },
    "Page": {
        "type": "object",
        "properties": {
            "items": {"type": "array"},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": 200},
            "total": {"type": "integer", "minimum": 0},
        },
        "required": ["items", "page", "per_page", "total"],
        "additionalProperties": False,
    },
    "Competition": _object(
        {
            "id": ID,
            "name": STRING,
            "tier": {"type": "string", "description": "compete.domain.tiers.Tier value"},
            "region": STRING,
            "year": INTEGER,
            "organiser": STRING,
            "host": STRING,
            "co_organisers": STRING,
            "venue": STRING,
            "description": STRING,
            "start_date": _nullable(DATE),
            "end_date": _nullable(DATE),
            "created_at": TIME,
        }
    ),
    "CompetitionPage": {
        "allOf": [
            _ref("schemas", "Page"),
            {
                "type": "object",
                "properties": {"items": {"type": "array", "items": _ref("schemas", "Competition")}},
            },
        ]
    },
    "Event": _object(
        {
            "id": ID,
            "competition_id": ID,
            "code": STRING,
            "name": STRING,
            "occupation": STRING,
            "occupation_code": STRING,
            "standard_grade": INTEGER,
            "group": {"type": "string", "description": "compete.domain.tiers.Group value"},
            "team_size": {"type": "integer", "minimum": 1, "maximum": 3},
            "max_coaches": INTEGER,
            "state": {
                "type": "string",
                "description": "compete.domain.lifecycle.EventState value",
            },
            "venue": STRING,
            "registration_deadline": _nullable(TIME),
            "start_at": _nullable(TIME),
            "end_at": _nullable(TIME),
            "preset": _object({"key": STRING, "version": {"type": "integer", "minimum": 1}}),
            "rules": {
                "type": "object",
                "description": "The rules in force: the preset version's parameters with the"
                " event's overrides; decimals as strings",
            },
            "created_at": TIME,
        }
    ),
    "EventPage": {
        "allOf": [
            _ref("schemas", "Page"),
            {
                "type": "object",
                "properties": {"items": {"type": "array", "items": _ref("schemas", "Event")}},
            },
        ]
    },
    "Criterion": _object(
        {
            "code": STRING,
            "description": STRING,
            "kind": {"type": "string", "enum": ["measurement", "judgement"]},
            "max_mark": MARK,
            "step": MARK,
            "judges": {"type": "integer", "minimum": 1},
            "aggregation": {"type": "string", "enum": ["mean", "trimmed_mean", "median", "sum"]},
            "tolerance": _nullable(MARK),
            "double_entry": {"type": "boolean"},
            "position": {"type": "integer", "minimum": 1},
        }
    ),
    "Module": _object(
        {
            "code": STRING,
            "name": STRING,
            "position": {"type": "integer", "minimum": 1},
            "max_mark": MARK,
            "criteria": {"type": "array", "items": _ref("schemas", "Criterion")},
        }
    ),
    "Scheme": _object(
        {
            "event_id": ID,
            "max_mark": MARK,
            "updated_at": _nullable(TIME),
            "modules": {"type": "array", "items": _ref("schemas", "Module")},
        },
        description="The marking scheme (评分标准); an event without one has no modules",
    ),
    "RoleAssignment": _object(
        {
            "role": STRING,
            "scope": {
                "type": "string",
                "enum": ["system", "competition", "event", "unit", "person"],
            },
            "competition_id": _nullable(ID),
            "event_id": _nullable(ID),
            "unit_id": _nullable(ID),
        }
    ),
    "Me": _object(
        {
            "id": ID,
            "username": STRING,
            "display_name": STRING,
            "roles": {"type": "array", "items": _ref("schemas", "RoleAssignment")},
            "token": {
                "oneOf": [
                    _object({"name": STRING, "expires_at": _nullable(TIME)}),
                    {"type": "null"},
                ]
            },
        },
        description="The token's user; the token acts with exactly these role assignments",
    ),
}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": _ref("schemas", "Error")}},
    }


RESPONSES = {
    "Unauthorized": _error("No valid bearer token (absent, unknown, revoked or expired)"),
    "Forbidden": _error("The token's user holds no role granting this here"),
    "NotFound": _error("No such competition or event"),
    "InvalidInput": _error("A query parameter is not valid"),
}

PARAMETERS = {
    "page": {
        "name": "page",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 1},
    },
    "per_page": {
        "name": "per_page",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
    },
    "competition_id": {
        "name": "competition_id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    },
    "event_id": {
        "name": "event_id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    },
}


def _get(
    operation_id: str,
    summary: str,
    schema: str,
    *,
    parameters: tuple[str, ...] = (),
    errors: tuple[str, ...] = ("Unauthorized",),
) -> dict[str, Any]:
    responses: dict[str, Any] = {
        "200": {
            "description": "OK",
            "content": {"application/json": {"schema": _ref("schemas", schema)}},
        }
    }
    codes = {"Unauthorized": "401", "Forbidden": "403", "NotFound": "404", "InvalidInput": "422"}
    for name in errors:
        responses[codes[name]] = _ref("responses", name)
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "responses": responses,
    }
    if parameters:
        operation["parameters"] = [_ref("parameters", p) for p in parameters]
    return {"get": operation}


SCOPED = ("Unauthorized", "Forbidden", "NotFound")

PATHS: dict[str, Any] = {
    "/openapi.json": {
        "get": {
            "operationId": "openapi_document",
            "summary": "This document",
            "security": [],
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": {}}}}
            },
        }
    },
    "/me": _get("me", "The token's user and the roles it acts with", "Me"),
    "/competitions": _get(
        "competition_list",
        "Competitions the token's user may view",
        "CompetitionPage",
        parameters=("page", "per_page"),
        errors=("Unauthorized", "InvalidInput"),
    ),
    "/competitions/{competition_id}": _get(
        "competition_detail",
        "One competition",
        "Competition",
        parameters=("competition_id",),
        errors=SCOPED,
    ),
    "/competitions/{competition_id}/events": _get(
        "competition_events",
        "The competition's events (赛项), by code",
        "EventPage",
        parameters=("competition_id", "page", "per_page"),
        errors=(*SCOPED, "InvalidInput"),
    ),
    "/events/{event_id}": _get(
        "event_detail",
        "One event with the rules in force",
        "Event",
        parameters=("event_id",),
        errors=SCOPED,
    ),
    "/events/{event_id}/scheme": _get(
        "event_scheme",
        "The event's marking scheme: modules and their criteria",
        "Scheme",
        parameters=("event_id",),
        errors=SCOPED,
    ),
}


def build_document() -> dict[str, Any]:
    """The whole OpenAPI document (a fresh copy each call)."""
    document = {
        "openapi": "3.1.0",
        "info": {
            "title": "compete API",
            "version": VERSION,
            "description": (
                "Read access to competitions, events and marking schemes. Create a personal"
                " token at /account/tokens and send it as `Authorization: Bearer cpt_...`;"
                " a token acts with exactly its user's role assignments."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "paths": PATHS,
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "cpt_..."}
            },
            "schemas": SCHEMAS,
            "parameters": PARAMETERS,
            "responses": RESPONSES,
        },
    }
    return copy.deepcopy(document)
