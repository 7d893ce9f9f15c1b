"""The OpenAPI document stays in step with the code: the same routes, their parameters, their
error answers, and real answers that match the documented schemas."""

from __future__ import annotations

import re

import pytest
from werkzeug.routing import IntegerConverter

from compete.blueprints.api.openapi import build_document
from compete.converters import MAX_ID

from .conftest import bearer

METHODS = {"get", "put", "post", "delete", "patch"}
PREFIX = "/api/v1"


def _document(client):
    response = client.get(f"{PREFIX}/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def _resolve(document, item):
    """Follow one local ``$ref``."""
    if "$ref" in item:
        node = document
        for part in item["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        return node
    return item


def _api_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(PREFIX + "/"):
            yield rule


def test_document_is_served_to_anyone_and_is_the_built_one(client):
    assert _document(client) == build_document()


def test_document_structure(client):
    document = _document(client)
    assert document["openapi"].startswith("3.1.")
    assert document["info"]["title"]
    assert document["info"]["version"]
    assert document["servers"] == [{"url": PREFIX}]
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "cpt_...",
    }
    assert document["security"] == [{"bearerAuth": []}]
    schemas = document["components"]["schemas"]
    assert {"Competition", "Event", "Scheme", "Error", "Page"} <= set(schemas)
    assert {"Registration", "Results", "Certificate", "MarkBatch", "MarkAnswers"} <= set(schemas)
    for path, item in document["paths"].items():
        assert path.startswith("/")
        for method, operation in item.items():
            assert method in METHODS
            assert operation["operationId"]
            assert "200" in operation["responses"]


def test_every_ref_points_somewhere(client):
    document = _document(client)
    refs = re.findall(r"'\$ref': '([^']+)'", repr(document))
    assert refs
    for ref in refs:
        _resolve(document, {"$ref": ref})  # KeyError when the target is missing


def test_paths_and_methods_match_the_url_map(app, client):
    document = _document(client)
    documented = {
        (PREFIX + path, method.upper())
        for path, item in document["paths"].items()
        for method in item
    }
    routed = {
        (re.sub(r"<(?:[a-z]+:)?(\w+)>", r"{\1}", rule.rule), method)
        for rule in _api_rules(app)
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert documented == routed


def test_operation_ids_name_the_view_functions(app, client):
    document = _document(client)
    endpoints = {rule.endpoint for rule in _api_rules(app)}
    operation_ids = {
        "api." + operation["operationId"]
        for item in document["paths"].values()
        for operation in item.values()
    }
    assert operation_ids == endpoints


def test_every_path_parameter_is_declared_with_its_type(app, client):
    document = _document(client)
    for rule in _api_rules(app):
        path = re.sub(r"<(?:[a-z]+:)?(\w+)>", r"{\1}", rule.rule).removeprefix(PREFIX)
        for operation in document["paths"][path].values():
            declared = {
                p["name"]: p
                for p in (_resolve(document, p) for p in operation.get("parameters", []))
                if p["in"] == "path"
            }
            assert set(declared) == set(rule.arguments), path
            for name, converter in rule._converters.items():
                expected = "integer" if isinstance(converter, IntegerConverter) else "string"
                assert declared[name]["required"] is True
                assert declared[name]["schema"]["type"] == expected
                if expected == "integer":  # the documented range is what the route matches
                    assert declared[name]["schema"]["minimum"] == converter.min == 1
                    assert declared[name]["schema"]["maximum"] == converter.max == MAX_ID


def _operations(app, document):
    for rule in _api_rules(app):
        path = re.sub(r"<(?:[a-z]+:)?(\w+)>", r"{\1}", rule.rule).removeprefix(PREFIX)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, path, document["paths"][path][method.lower()]


def test_error_answers_follow_the_views_access_rules(app, client):
    """A signed-in route may answer 401, a permission route 403, an id route 404, and a route
    taking query parameters, a body or a text path parameter 422; a public route needs no
    token."""
    document = _document(client)
    for rule, path, operation in _operations(app, document):
        kind, _permission = app.view_functions[rule.endpoint].access
        codes = set(operation["responses"])
        parameters = [_resolve(document, p) for p in operation.get("parameters", [])]
        checked = any(
            p["in"] == "query" or (p["in"] == "path" and p["schema"]["type"] == "string")
            for p in parameters
        )
        if kind == "public":
            assert operation["security"] == [], path
            assert codes == {"200"}, path
            continue
        assert "security" not in operation, path  # the document's bearerAuth applies
        assert "401" in codes, path
        assert ("403" in codes) == (kind == "permission"), path
        assert ("404" in codes) == bool(rule.arguments), path
        assert ("422" in codes) == (checked or "requestBody" in operation), path
        for code in codes - {"200"}:
            response = _resolve(document, operation["responses"][code])
            schema = response["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Error"}


def test_openapi_spec_validator_accepts_the_document(client):
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(_document(client))


# ------------------------------------------------------------ answers match the schemas


def _validator(document, name):
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    return jsonschema_rs.validator_for(schema)


@pytest.mark.parametrize(
    ("path", "schema"),
    [
        ("/me", "Me"),
        ("/competitions", "CompetitionPage"),
        ("/competitions/{competition_a}", "Competition"),
        ("/competitions/{competition_a}/events", "EventPage"),
        ("/events/{event_a}", "Event"),
        ("/events/{event_a}/scheme", "Scheme"),
        ("/events/{event_b}/scheme", "Scheme"),
    ],
)
def test_answers_match_their_documented_schema(client, world, path, schema):
    document = _document(client)
    validator = _validator(document, schema)
    response = client.get(
        PREFIX + path.format(**vars(world)), headers=bearer(world.tokens["admin"])
    )
    assert response.status_code == 200
    errors = [str(e) for e in validator.iter_errors(response.get_json())]
    assert errors == []


@pytest.mark.parametrize(
    ("path", "headers_for", "status"),
    [
        ("/me", None, 401),
        ("/events/{event_b}", "organiser_a", 403),
        ("/events/999999", "admin", 404),
        ("/competitions?page=0", "admin", 422),
    ],
)
def test_error_answers_match_the_error_schema(client, world, path, headers_for, status):
    document = _document(client)
    validator = _validator(document, "Error")
    headers = bearer(world.tokens[headers_for]) if headers_for else {}
    response = client.get(PREFIX + path.format(**vars(world)), headers=headers)
    assert response.status_code == status
    assert [str(e) for e in validator.iter_errors(response.get_json())] == []


def test_schema_check_catches_an_undocumented_field(client, world):
    """The schemas forbid fields they do not list, so the check above can fail."""
    document = _document(client)
    validator = _validator(document, "Competition")
    body = client.get(
        f"{PREFIX}/competitions/{world.competition_a}", headers=bearer(world.tokens["admin"])
    ).get_json()
    assert validator.is_valid(body)
    assert not validator.is_valid({**body, "secret": "x"})
    assert not validator.is_valid({**body, "year": "2026"})
    page = _validator(document, "CompetitionPage")
    listing = {"items": [body], "page": 1, "per_page": 50, "total": 1}
    assert page.is_valid(listing)
    assert not page.is_valid({**listing, "next": None})
    assert not page.is_valid({**listing, "items": [{**body, "secret": "x"}]})


def test_the_mark_batch_is_documented_as_a_json_body(client):
    operation = _document(client)["paths"]["/events/{event_id}/marks"]["post"]
    assert operation["requestBody"]["required"] is True
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/MarkBatch"
    }
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/MarkAnswers"
    }


def test_a_tablet_batch_matches_the_documented_body(client):
    """The shape the tablet page posts is what the document asks for."""
    document = _document(client)
    batch = {
        "marks": [
            {
                "client_id": "3f0c9a3e-1d2b-4c55-9a8e-000000000001",
                "code": "R001",
                "criterion_id": 12,
                "value": "7.50",
                "base": None,
                "entered_at": "2026-12-27T09:00:00+08:00",
                "reason": None,
                "device": "iPad",
            },
            {"client_id": "b", "code": "R002", "criterion_id": 13, "value": 8},
        ]
    }
    validator = _validator(document, "MarkBatch")
    assert validator.is_valid(batch)
    assert not validator.is_valid({"marks": []})
    assert not validator.is_valid({"marks": [{"client_id": "c", "code": "R1", "value": "1"}]})


@pytest.mark.parametrize("value", [str(MAX_ID + 1), "9" * 30, "0"])
def test_ids_outside_the_documented_range_match_no_route(app, client, world, value):
    for rule in _api_rules(app):
        if not rule.arguments or "number" in rule.arguments:
            continue
        url = re.sub(r"<(?:[a-z]+:)?\w+>", value, rule.rule)
        method = "POST" if "POST" in rule.methods else "GET"
        response = client.open(url, method=method, headers=bearer(world.tokens["admin"]))
        assert response.status_code == 404, url
        assert response.get_json()["error"] == "not_found"
