"""The OpenAPI 3.1 description of ``/api/v1``, written by hand and kept in step by a test
(tests/api/test_openapi.py compares its paths with ``app.url_map`` and checks answers against
its schemas)."""

from __future__ import annotations

import copy
from typing import Any

from ...domain.awards import Award
from ...models import EntryStatus

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


MAX_ID = 2**31 - 1  # as converters.MAX_ID: larger ids match no route

STRING = {"type": "string"}
INTEGER = {"type": "integer"}
ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
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


def _page_of(item: str) -> dict[str, Any]:
    return {
        "allOf": [
            _ref("schemas", "Page"),
            {
                "type": "object",
                "properties": {"items": {"type": "array", "items": _ref("schemas", item)}},
            },
        ]
    }


ENTRY_STATUSES = [s.value for s in EntryStatus]
AWARDS = [a.value for a in Award]
MARK_VALUE_PATTERN = r"^-?\d{1,6}(\.\d{1,6})?$"

SCHEMAS.update(
    {
        "RegistrationMember": _object(
            {
                "name": STRING,
                "gender": {"type": "string", "description": "M or F"},
                "id_number": {
                    "type": "string",
                    "description": "Masked (4401**********1234) unless full=1 was asked for"
                    " by a holder of the personal-data permission",
                },
                "phone": {"type": "string", "description": "Masked like id_number; may be empty"},
                "is_lead": {"type": "boolean", "description": "The team's lead contestant"},
                "position": INTEGER,
            }
        ),
        "Registration": _object(
            {
                "id": ID,
                "event_id": ID,
                "status": {"type": "string", "enum": ENTRY_STATUSES},
                "unit": _object({"id": ID, "name": STRING}),
                "entry_number": _nullable({"type": "string", "description": "参赛号, once drawn"}),
                "station_number": _nullable(
                    {"type": "string", "description": "赛位号, once drawn"}
                ),
                "decision_reason": _nullable(STRING),
                "coaches": {"type": "array", "items": STRING, "description": "Coaches' names"},
                "members": {"type": "array", "items": _ref("schemas", "RegistrationMember")},
                "created_at": TIME,
            },
            description="One registration (报名): a contestant, or a team as one entry",
        ),
        "RegistrationPage": _page_of("Registration"),
        "ResultLine": _object(
            {
                "rank": _nullable({"type": "integer", "minimum": 1}),
                "code": _nullable(
                    {
                        "type": "string",
                        "description": "The marking code (评审号); for readers of the"
                        " results list only",
                    }
                ),
                "entry_id": _nullable(
                    {**ID, "description": "For readers of the results list, once unsealed"}
                ),
                "entry_number": _nullable(
                    {"type": "string", "description": "Null while the codes are sealed"}
                ),
                "names": {
                    "type": "array",
                    "items": STRING,
                    "description": "Empty while the codes are sealed",
                },
                "unit": _nullable({"type": "string", "description": "Null while sealed"}),
                "module_scores": {"type": "object", "additionalProperties": MARK},
                "practical": MARK,
                "theory": _nullable(MARK),
                "final": MARK,
                "passed": {"type": "boolean"},
                "award": _nullable({"type": "string", "enum": [*AWARDS, None]}),
            }
        ),
        "Results": _object(
            {
                "event_id": ID,
                "status": {
                    "type": "string",
                    "enum": ["provisional", "final"],
                    "description": "final once the event's results are final",
                },
                "published": {"type": "boolean"},
                "sealed": {
                    "type": "boolean",
                    "description": "The marking codes are not unsealed yet: no names",
                },
                "marks_seq": _nullable(
                    {"type": "integer", "description": "The mark chain length computed from"}
                ),
                "items": {"type": "array", "items": _ref("schemas", "ResultLine")},
            },
            description="Stored results, ranked first by rank. Readers of the results list see"
            " every row with its marking code at any time; others see the ranked rows once"
            " published",
        ),
        "Certificate": _object(
            {
                "number": STRING,
                "kind": {"type": "string", "enum": ["award", "title", "promotion"]},
                "heading": {"type": "string", "description": "In the caller's language"},
                "masked_name": {"type": "string", "description": "e.g. 王*明"},
                "competition": STRING,
                "event_code": STRING,
                "event_name": STRING,
                "occupation": STRING,
                "wording": {"type": "string", "description": "What it certifies"},
                "issuer": STRING,
                "issued_on": _nullable(DATE),
                "status": {"type": "string", "enum": ["valid", "revoked"]},
                "revoked_on": _nullable(DATE),
            },
            description="What the public verification page shows; never an ID number or phone",
        ),
        "MarkInput": {
            "type": "object",
            "properties": {
                "client_id": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 64,
                    "description": "Unique per judge; a replay answers duplicate",
                },
                "code": {"type": "string", "maxLength": 64, "description": "The marking code"},
                "criterion_id": ID,
                "value": {
                    "type": ["string", "number", "null"],
                    "pattern": MARK_VALUE_PATTERN,
                    "description": 'A decimal, best as a string ("7.5"); null is refused',
                },
                "base": _nullable(
                    {**ID, "description": "The mark id this corrects (needed to change one)"}
                ),
                "entered_at": _nullable(TIME),
                "reason": _nullable(
                    {"type": "string", "maxLength": 2000, "description": "Needed for a change"}
                ),
                "device": _nullable({"type": "string", "maxLength": 2000}),
            },
            "required": ["client_id", "code", "criterion_id", "value"],
            "description": "One mark, as the tablet page sends it",
        },
        "MarkBatch": {
            "type": "object",
            "properties": {
                "marks": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 200,
                    "items": _ref("schemas", "MarkInput"),
                }
            },
            "required": ["marks"],
        },
        "MarkAnswer": _object(
            {
                "client_id": STRING,
                "status": {
                    "type": "string",
                    "enum": ["stored", "duplicate", "conflict", "refused"],
                    "description": "duplicate: stored before (mark_id is that copy); conflict:"
                    " a newer mark is stored (value shows it); refused: message says why",
                },
                "mark_id": _nullable(ID),
                "value": _nullable(MARK),
                "message": STRING,
            }
        ),
        "MarkAnswers": _object(
            {"results": {"type": "array", "items": _ref("schemas", "MarkAnswer")}},
            description="One answer per mark sent, in order",
        ),
    }
)


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": _ref("schemas", "Error")}},
    }


RESPONSES = {
    "Unauthorized": _error("No valid bearer token (absent, unknown, revoked or expired)"),
    "Forbidden": _error("The token's user holds no role granting this here"),
    "NotFound": _error("No such record (or nothing the token's user may see there)"),
    "InvalidInput": _error("A parameter or the request body is not valid"),
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
    "competition_id": {"name": "competition_id", "in": "path", "required": True, "schema": ID},
    "event_id": {"name": "event_id", "in": "path", "required": True, "schema": ID},
    "unit_id": {"name": "unit_id", "in": "path", "required": True, "schema": ID},
    "number": {
        "name": "number",
        "in": "path",
        "required": True,
        "description": "As printed; spaces and dashes are ignored, letters may be lower case",
        "schema": {"type": "string", "minLength": 1, "maxLength": 60},
    },
    "status": {
        "name": "status",
        "in": "query",
        "required": False,
        "description": "Only registrations in this state",
        "schema": {"type": "string", "enum": ENTRY_STATUSES},
    },
    "full": {
        "name": "full",
        "in": "query",
        "required": False,
        "description": "1: full ID numbers and phones (personal-data holders only, audited)",
        "schema": {"type": "integer", "enum": [0, 1], "default": 0},
    },
}


def _get(
    operation_id: str,
    summary: str,
    schema: str,
    *,
    parameters: tuple[str, ...] = (),
    errors: tuple[str, ...] = ("Unauthorized",),
    description: str | None = None,
    body: str | None = None,
    method: str = "get",
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
    if description:
        operation["description"] = description
    if parameters:
        operation["parameters"] = [_ref("parameters", p) for p in parameters]
    if body:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref("schemas", body)}},
        }
    return {method: operation}


def _post(operation_id: str, summary: str, schema: str, **kwargs: Any) -> dict[str, Any]:
    return _get(operation_id, summary, schema, method="post", **kwargs)


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
    "/events/{event_id}/registrations": _get(
        "event_registrations",
        "The event's registrations, for reviewers",
        "RegistrationPage",
        parameters=("event_id", "page", "per_page", "status", "full"),
        errors=(*SCOPED, "InvalidInput"),
        description="Registration reviewers of the event (organisers) read every entry, by"
        " id. ID numbers and phones are masked; `full=1` shows them whole to holders of the"
        " personal-data permission (403 for anyone else) and is written to the audit log.",
    ),
    "/units/{unit_id}/events/{event_id}/registrations": _get(
        "unit_registrations",
        "A unit's registrations in an event, for the unit's contact",
        "RegistrationPage",
        parameters=("unit_id", "event_id", "page", "per_page", "status", "full"),
        errors=(*SCOPED, "InvalidInput"),
        description="A unit contact's role holds in the unit named by the URL, as on the"
        " registration pages; only that unit's entries are listed. Masked as above.",
    ),
    "/events/{event_id}/results": _get(
        "event_results",
        "The event's stored results",
        "Results",
        parameters=("event_id",),
        errors=("Unauthorized", "NotFound"),
        description="Readers of the results list (organisers, chief judge, supervisor) get"
        " every stored row at any time, by marking code, with names once unsealed. Any"
        " other token holder gets the ranked rows once the results are published (as the"
        " public results page), and 404 before.",
    ),
    "/events/{event_id}/marks": _post(
        "submit_marks",
        "Record a batch of marks (a seated marking judge of the event)",
        "MarkAnswers",
        parameters=("event_id",),
        errors=(*SCOPED, "InvalidInput"),
        body="MarkBatch",
        description="The batch the judges' tablets send: each mark is recorded once per"
        " client_id (a replay answers duplicate with the first copy) and answered on its own."
        " 403 for a token whose user has no marking seat on the event's panel; 422 when"
        " `marks` is not a list of 1 to 200 items. Marking closed (the event is not in"
        " progress) refuses each new mark.",
    ),
    "/certificates/{number}": _get(
        "certificate_detail",
        "Check a certificate number",
        "Certificate",
        parameters=("number",),
        errors=("Unauthorized", "NotFound", "InvalidInput"),
        description="The public verification data. 422 when the check character does not"
        " match (a mistyped number), 404 when no certificate has the number.",
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
                "Competitions, events, marking schemes, registrations, results and"
                " certificate checks to read, and judges' marks to record. Create a personal"
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
