"""Public results: nothing before publication; after, rank, name, unit, score and award with no
ID number, phone or birth date; "under publicity" until final; pages served from the cache
until the results change (a correction bumps ``results_version`` and shows at once); the
competition page and the venue's big screen show published events only."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select

from compete import cache
from compete.blueprints.results import services
from compete.domain.idnumber import mask_id_number
from compete.domain.lifecycle import EventState
from compete.domain.people import mask_phone
from compete.extensions import db
from compete.models import AwardGrant, Competition, EntryScore, Event, Person, Publication, Unit

from ..scenario import ranked_event

FINALS = [90, 85, 85, 70, 50]  # the last is below the pass mark: unranked


def _world(app, state=EventState.PUBLICITY, *, n=5, finals=FINALS, seed=2026, competition_id=None):
    with app.app_context():
        competition = db.session.get(Competition, competition_id) if competition_id else None
        s = ranked_event(n, finals=finals, state=state, people_seed=seed, competition=competition)
        people = [db.session.get(Person, pid) for pid in s.person_ids]
        s.extra = {
            "names": [p.name for p in people],
            "ids": [p.id_number for p in people],
            "phones": [p.phone for p in people],
            "units": [db.session.get(Unit, uid).name for uid in s.unit_ids],
        }
        db.session.commit()
        return s


def _assert_no_personal_numbers(html: str, s) -> None:
    for id_number, phone in zip(s.extra["ids"], s.extra["phones"], strict=True):
        assert id_number not in html
        assert mask_id_number(id_number) not in html
        assert id_number[6:14] not in html  # the birth date inside it
        assert phone not in html and mask_phone(phone) not in html


def _ranks(html: str) -> list[int]:
    return [int(r) for r in re.findall(r'<tr data-rank="(\d+)"', html)]


# ---------------------------------------------------------------- before publication


@pytest.mark.parametrize(
    "state",
    [
        EventState.IN_PROGRESS,
        EventState.SCORING_LOCKED,
        EventState.UNDER_REVIEW,
        EventState.CANCELLED,
    ],
)
def test_nothing_is_public_before_publication(app, client, state):
    s = _world(app, state)
    response = client.get(f"/events/{s.event_id}/results")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert 'id="not-published"' in html
    assert not any(name in html for name in s.extra["names"])
    assert not any(unit in html for unit in s.extra["units"])
    assert "90.00" not in html and "85.00" not in html
    listing = client.get(f"/competitions/{s.competition_id}/results").get_data(as_text=True)
    assert f'data-event="{s.event_id}"' not in listing
    screen = client.get(f"/competitions/{s.competition_id}/screen").get_data(as_text=True)
    assert 'id="screen-empty"' in screen
    assert not any(name in screen for name in s.extra["names"])


def test_a_withdrawn_publication_takes_the_page_down(app, client):
    s = _world(app)
    assert client.get(f"/events/{s.event_id}/results").status_code == 200
    with app.app_context():
        publication = db.session.get(Publication, s.publication_id)
        publication.withdrawn_at = datetime(2026, 12, 21, tzinfo=UTC)
        event = db.session.get(Event, s.event_id)
        event.state = EventState.UNDER_REVIEW  # an upheld appeal sends it back to review
        services.bump_results_version(event)
        db.session.commit()
    response = client.get(f"/events/{s.event_id}/results")
    assert response.status_code == 404
    assert not any(name in response.get_data(as_text=True) for name in s.extra["names"])


# ---------------------------------------------------------------- after publication


def test_published_page_shows_ranked_names_units_scores_and_no_personal_numbers(app, client):
    s = _world(app)
    response = client.get(f"/events/{s.event_id}/results")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'data-state="publicity"' in html and 'data-status="publicity"' in html
    assert "data-window" in html  # the publicity window and appeal deadline
    assert "2026-12-26" in html  # the last day of the window
    assert _ranks(html) == [1, 2, 2, 4]
    for name, unit in zip(s.extra["names"][:4], s.extra["units"][:4], strict=True):
        assert name in html and unit in html
    assert s.extra["names"][4] not in html  # below the pass mark: not ranked, not listed
    for score in ("90.00", "85.00", "70.00"):
        assert score in html
    _assert_no_personal_numbers(html, s)


def test_final_results_are_labelled_final(app, client):
    s = _world(app, EventState.FINAL)
    html = client.get(f"/events/{s.event_id}/results").get_data(as_text=True)
    assert 'data-state="final"' in html and 'data-status="final"' in html
    assert "data-window" not in html
    assert all(name in html for name in s.extra["names"][:4])


def test_awards_show_once_allocated(app, client):
    s = _world(app, EventState.FINAL)
    client.set_cookie("lang", "en")
    html = client.get(f"/events/{s.event_id}/results").get_data(as_text=True)
    assert "First prize" not in html
    with app.app_context():
        db.session.add(AwardGrant(event_id=s.event_id, entry_id=s.entry_ids[0], award="first"))
        services.bump_results_version(db.session.get(Event, s.event_id))
        db.session.commit()
    html = client.get(f"/events/{s.event_id}/results").get_data(as_text=True)
    assert "First prize" in html


# ---------------------------------------------------------------- cache


class _Statements:
    """Counts SQL statements that read the stored results."""

    def __init__(self, engine):
        self.engine, self.count = engine, 0

    def __call__(self, conn, cursor, statement, *args):
        if "entry_scores" in statement:
            self.count += 1

    def __enter__(self):
        sa_event.listen(self.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *exc):
        sa_event.remove(self.engine, "before_cursor_execute", self)


def test_readers_are_served_from_the_cache_until_results_version_changes(app, client):
    s = _world(app)
    first = client.get(f"/events/{s.event_id}/results").get_data(as_text=True)
    with app.app_context(), _Statements(db.engine) as reads:
        for _ in range(3):
            again = client.get(f"/events/{s.event_id}/results").get_data(as_text=True)
            assert again == first
    assert reads.count == 0  # the ranking is not read again
    with app.app_context():
        # A change without a new results_version is not seen: the page comes from the cache.
        person = db.session.get(Person, s.person_ids[0])
        person.name = "更正后"
        db.session.commit()
    assert "更正后" not in client.get(f"/events/{s.event_id}/results").get_data(as_text=True)
    with app.app_context():
        services.bump_results_version(db.session.get(Event, s.event_id))
        db.session.commit()
    assert "更正后" in client.get(f"/events/{s.event_id}/results").get_data(as_text=True)


def test_a_correction_shows_at_once_on_every_public_output(app, client):
    s = _world(app)
    urls = [
        f"/events/{s.event_id}/results",
        f"/events/{s.event_id}/results/notice",
        f"/competitions/{s.competition_id}/screen",
    ]
    for url in urls:
        assert "85.00" in client.get(url).get_data(as_text=True)
    with app.app_context():
        row = db.session.scalar(select(EntryScore).where(EntryScore.entry_id == s.entry_ids[1]))
        row.final = Decimal("86.50")
        services.bump_results_version(db.session.get(Event, s.event_id))
        db.session.commit()
    for url in urls:
        html = client.get(url).get_data(as_text=True)
        assert "86.50" in html, url


def test_each_language_has_its_own_cached_copy(app, client):
    s = _world(app)
    chinese = client.get(f"/events/{s.event_id}/results").get_data(as_text=True)
    client.set_cookie("lang", "en")
    english = client.get(f"/events/{s.event_id}/results").get_data(as_text=True)
    assert '<html lang="zh-CN">' in chinese and '<html lang="en">' in english
    body = re.compile(r'<article class="public-results".*</article>', re.S)
    assert body.search(chinese).group() != body.search(english).group()


def test_memory_cache_is_bounded_and_honours_ttl(monkeypatch):
    store = cache.MemoryCache(max_entries=2, max_bytes=1000)
    store.set("a", "1")
    store.set("b", "2")
    assert store.get("a") == "1"  # a is now the most recently used
    store.set("c", "3")
    assert store.get("b") is None and store.get("a") == "1" and store.get("c") == "3"
    store.set("big", b"x" * 2000)  # larger than the whole cache: not kept
    assert store.get("big") is None
    clock = [100.0]
    monkeypatch.setattr(cache.time, "monotonic", lambda: clock[0])
    store.set("t", "soon gone", ttl=10)
    assert store.get("t") == "soon gone"
    clock[0] += 11
    assert store.get("t") is None


def test_a_broken_cache_does_not_break_the_page(app, client, monkeypatch):
    class Broken:
        def get(self, key):
            raise ConnectionError("cache down")

        def set(self, key, value, ttl=None):
            raise ConnectionError("cache down")

    s = _world(app)
    monkeypatch.setitem(app.extensions, "compete_page_cache", Broken())
    response = client.get(f"/events/{s.event_id}/results")
    assert response.status_code == 200
    assert s.extra["names"][0] in response.get_data(as_text=True)


# ---------------------------------------------------------------- competition page, big screen


def test_competition_page_lists_published_events_only(app, client):
    published = _world(app)
    final = _world(app, EventState.FINAL, seed=7, competition_id=published.competition_id)
    hidden = _world(app, EventState.UNDER_REVIEW, seed=11, competition_id=published.competition_id)
    html = client.get(f"/competitions/{published.competition_id}/results").get_data(as_text=True)
    assert f'href="/events/{published.event_id}/results"' in html
    assert f'href="/events/{final.event_id}/results"' in html
    assert f'data-event="{hidden.event_id}"' not in html
    assert f"/events/{hidden.event_id}/" not in html


def test_big_screen_cycles_through_published_events_page_by_page(app, client):
    a = _world(app, n=12, finals=[95 - i for i in range(12)])
    b = _world(app, EventState.FINAL, seed=7, competition_id=a.competition_id)
    hidden = _world(app, EventState.UNDER_REVIEW, seed=11, competition_id=a.competition_id)
    base = f"/competitions/{a.competition_id}/screen"
    slides = []
    for i in range(4):
        html = client.get(f"{base}?i={i}&rows=5").get_data(as_text=True)
        slide = re.search(r'data-event="(\d+)" data-page="(\d+)"', html).groups()
        slides.append((int(slide[0]), int(slide[1])))
        refresh = re.search(r'<meta http-equiv="refresh" content="(\d+);url=([^"]+)">', html)
        assert refresh, "the page moves on by itself"
        assert f"i={(i + 1) % 4}" in refresh.group(2) and "rows=5" in refresh.group(2)
        assert 'src="/static/js/bigscreen.js"' in html
        assert not any(name in html for name in hidden.extra["names"])
        _assert_no_personal_numbers(html, a)
    # Event A: 12 ranked entries in pages of 5 (3 slides); event B: 4 ranked entries (1).
    with app.app_context():
        by_code = sorted([a.event_id, b.event_id], key=lambda i: db.session.get(Event, i).code)
    first, second = by_code  # the screen goes through the events in code order
    pages = {a.event_id: 3, b.event_id: 1}
    expected = [(first, p) for p in range(1, pages[first] + 1)] + [
        (second, p) for p in range(1, pages[second] + 1)
    ]
    assert slides == expected
    # The index wraps around, so a screen left running keeps cycling.
    html = client.get(f"{base}?i=4&rows=5").get_data(as_text=True)
    assert re.search(r'data-event="(\d+)" data-page="1"', html).group(1) == str(first)


def test_big_screen_shows_names_of_published_events(app, client):
    s = _world(app, EventState.FINAL)
    html = client.get(f"/competitions/{s.competition_id}/screen").get_data(as_text=True)
    assert 'data-status="final"' in html
    assert _ranks(html) == [1, 2, 2, 4]
    assert all(name in html for name in s.extra["names"][:4])
    assert 'class="screen"' in html
