"""Every page a demo user can reach opens without a server error, on the full demo (what
``flask compete seed-demo`` and ``make run`` load): the finished 车工 event included."""

from __future__ import annotations

import re
from collections import deque

import pytest
from sqlalchemy import select

from compete.demo import ACCOUNTS, lathe_event, load_demo, load_demo_results
from compete.extensions import db
from compete.models import Appeal, Certificate, Event, Unit

PASSWORD = "Demo-pass-2026"
LINK = re.compile(r'href="(/[^"#]*)"')
SKIP = ("/static/", "/logout", ".pdf", ".xlsx", ".jpg", ".png", ".zip", "/tablet/sw.js")
LIMIT = 120
USERNAMES = [a[0] for a in ACCOUNTS]
JUDGES = {"judge1", "judge2", "judge3", "judge4", "judge5"}
RESULTS_STAFF = {"admin", "organiser", "chief", "supervisor"}  # results.view on 车工

# The finished 车工 event's pages for staff, and who may open them (everyone else gets 403).
STAFF_PAGES = [
    ("/events/{event}/results/provisional", RESULTS_STAFF),
    ("/events/{event}/review", RESULTS_STAFF),
    ("/events/{event}/publicity", RESULTS_STAFF),
    ("/events/{event}/nominations", RESULTS_STAFF),
    ("/events/{event}/appeals", {"admin", "supervisor"}),
    ("/events/{event}/awards", {"admin", "organiser"}),
    ("/events/{event}/certificates", {"admin", "organiser"}),
    ("/events/{event}/results/inputs", {"admin", "organiser", "recorder"}),  # 计分裁判 too
    ("/events/{event}/unseal", {"admin", "encrypt", "supervisor"}),
    ("/events/{event}/console", {"admin", "chief"}),
    ("/events/{event}/draws", {"admin", "organiser", "chief", "encrypt", "recorder", "supervisor"}),
    ("/tablet/events/{event}", {"chief", *JUDGES}),  # a seat on the panel is needed too
    ("/competitions/{competition}/awards", {"admin", "organiser"}),
    ("/competitions/{competition}/honours", {"admin", "organiser"}),
    ("/events/{national}/entries", {"admin", "organiser"}),  # the nominees, pre-registered
    ("/units/{unit}/appeals", {"admin", "unit"}),
]
# Open to anyone, signed in or not.
PUBLIC_PAGES = [
    "/events/{event}/results",
    "/events/{event}/results/notice",
    "/competitions/{competition}/results",
    "/competitions/{competition}/screen",
    "/competitions/{competition}/medals",
    "{result}",
    "{certificate}",
    "/certificates/verify?number={number}",
]


@pytest.fixture
def demo(app):
    with app.app_context():
        load_demo(password=PASSWORD)
        _created, links = load_demo_results()
        db.session.commit()
        event = lathe_event()
        national = db.session.scalar(select(Event).where(Event.code == "N02"))
        unit = db.session.scalar(select(Unit).where(Unit.name == "广州市技师学院"))
        appeal = db.session.scalar(select(Appeal).where(Appeal.event_id == event.id))
        number = db.session.scalar(
            select(Certificate.number).where(Certificate.token == links.certificate[3:])
        )
        return {
            "event": event.id,
            "competition": event.competition_id,
            "national": national.id,
            "unit": unit.id,
            "appeal": appeal.id,
            "result": links.result,
            "certificate": links.certificate,
            "number": number,
        }


@pytest.mark.parametrize("username", USERNAMES)
def test_every_linked_page_opens(app, auth, demo, username):
    assert auth.login(username, PASSWORD).status_code == 302
    client = auth.client
    seen, queue, broken = set(), deque(["/"]), []
    while queue and len(seen) < LIMIT:
        path = queue.popleft()
        if path in seen or any(s in path for s in SKIP):
            continue
        seen.add(path)
        response = client.get(path)
        if response.status_code >= 500:
            broken.append((path, response.status_code))
            continue
        if response.mimetype == "text/html":
            for link in LINK.findall(response.get_data(as_text=True)):
                link = link.replace("&amp;", "&")
                if link not in seen:
                    queue.append(link)
    assert broken == []
    assert len(seen) > 3


@pytest.mark.parametrize("username", USERNAMES)
def test_the_finished_event_opens_to_whoever_may_see_it(app, auth, demo, username):
    """Results, review, publicity, appeals, awards, certificates, nominations and the rest of
    the 车工 event: 200 for the roles that hold the permission there, 403 for the others."""
    assert auth.login(username, PASSWORD).status_code == 302
    client = auth.client
    answers = {}
    for pattern, allowed in STAFF_PAGES:
        path = pattern.format(**demo)
        answers[path] = (client.get(path).status_code, 200 if username in allowed else 403)
    for pattern in PUBLIC_PAGES:
        path = pattern.format(**demo)
        answers[path] = (client.get(path).status_code, 200)
    # The appeal as its filer sees it: the unit contact who filed it, nobody else.
    path = "/events/{event}/appeals/{appeal}".format(**demo)
    answers[path] = (client.get(path).status_code, 200 if username == "unit" else 404)
    wrong = {path: got for path, (got, expected) in answers.items() if got != expected}
    assert wrong == {}


def test_the_public_pages_open_without_signing_in(client, demo):
    for pattern in PUBLIC_PAGES:
        path = pattern.format(**demo)
        assert client.get(path).status_code == 200, path
    assert client.get("/events/{event}/awards".format(**demo)).status_code == 302  # to sign in
