"""Generated requests against every operation of the served OpenAPI document (schemathesis, in
process through WSGI): never a server error, and every answer as the document describes it
(status code, content type, body schema).

Each operation runs with the token of a user who sees the demo data (the administrator), with a
seated marking judge's token for the mark batch, and without a token. Path ids are drawn at
random and from the demo (its two competitions' events, a unit, issued certificate numbers), so
real records are read as well as missing ones. The data lives in an app of its own, built once
for this module; the other tests' table cleaning does not touch it.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from compete.blueprints.api.openapi import build_document
from compete.blueprints.awards import certificates
from compete.demo import load_demo
from compete.domain.awards import Award
from compete.domain.lifecycle import EventState
from compete.extensions import db
from compete.models import AwardGrant, Competition, Event, Unit, User

from ..conftest import build_app
from ..scenario import ranked_event
from .conftest import bearer, make_token

PASSWORD = "Demo-pass-2026"
EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
OPERATIONS = [
    (method.upper(), path) for path, item in build_document()["paths"].items() for method in item
]
MARKS = ("POST", "/events/{event_id}/marks")
CASES = [
    pytest.param(method, path, who, id=f"{method} {path} [{who or 'no token'}]")
    for method, path in OPERATIONS
    for who in ("admin", None, *(["judge1"] if (method, path) == MARKS else []))
]


@dataclass
class Data:
    schema: object
    tokens: dict[str, str]
    values: dict[str, list]  # path parameter -> real values from the demo


@pytest.fixture(scope="module")
def data():
    app = build_app()
    with app.app_context():
        db.create_all()
        load_demo(password=PASSWORD)
        db.session.commit()
        # A final event with awards and certificates, so results and numbers are real.
        ranked = ranked_event(4, state=EventState.FINAL, people_seed=4242)
        for entry_id, award in zip(ranked.entry_ids, (Award.FIRST, Award.SECOND), strict=False):
            db.session.add(AwardGrant(event_id=ranked.event_id, entry_id=entry_id, award=award))
        db.session.flush()
        now = datetime(2027, 1, 5, tzinfo=UTC)
        issued = certificates.issue_certificates(
            None, db.session.get(Event, ranked.event_id), now=now
        ).issued
        certificates.revoke_certificate(None, issued[-1], reason="更正", now=now)

        def user(name):
            return db.session.scalar(select(User).where(User.username == name))

        tokens = {name: make_token(user(name)) for name in ("admin", "judge1")}
        values = {
            "competition_id": list(db.session.scalars(select(Competition.id))),
            "event_id": list(db.session.scalars(select(Event.id))),
            "unit_id": list(db.session.scalars(select(Unit.id).order_by(Unit.id).limit(2))),
            "number": [c.number for c in issued],
        }
        db.session.commit()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    yield Data(schema=schema, tokens=tokens, values=values)
    with app.app_context(), db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # the tests' shared database: leave it empty
            names = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            conn.exec_driver_sql(f"TRUNCATE TABLE {names} RESTART IDENTITY CASCADE")
    with app.app_context():
        db.engine.dispose()


def _strategy(data: Data, method: str, path: str):
    """Cases with generated path parameters, and with every combination of real ones."""
    operation = data.schema[path][method]
    names = re.findall(r"{(\w+)}", path)
    strategies = [
        operation.as_strategy(),
        operation.as_strategy(schemathesis.GenerationMode.NEGATIVE),
    ]
    for combination in itertools.product(*(data.values[name] for name in names)):
        if names:
            params = dict(zip(names, combination, strict=True))
            strategies.append(operation.as_strategy(path_parameters=params))
    return st.one_of(strategies)


@pytest.mark.parametrize(("method", "path", "who"), CASES)
def test_generated_requests(data, method, path, who):
    headers = bearer(data.tokens[who]) if who else {}
    statuses: set[int] = set()

    @given(case=_strategy(data, method, path))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        statuses.add(response.status_code)

    run()
    # The token was used: real records were read (or marks recorded), and without a token
    # nothing but the document is open (an unknown id in the path is a 404 before sign-in).
    if path == "/openapi.json":
        assert statuses == {200}
    elif who is None:
        assert 401 in statuses and statuses <= {401, 404}
    elif method == "GET":
        assert 200 in statuses, statuses
    else:
        # Generated batches rarely pair the judge's own event with a readable body; the
        # stored path is proven in tests/api/test_marks.py. Here: no 5xx and only these.
        assert statuses <= {200, 403, 404, 409, 422}, statuses
