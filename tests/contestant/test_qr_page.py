"""The contestant's QR page: what it shows at each stage, to whom, how fast it refuses guesses."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select

from compete.blueprints.contestant import services
from compete.domain.lifecycle import EventState
from compete.domain.people import mask_name
from compete.extensions import db
from compete.models import (
    AuditEntry,
    AwardGrant,
    Certificate,
    CertificateKind,
    CertificateStatus,
    CheckIn,
    Entry,
    EntryScore,
    EntryStatus,
    Event,
    GrantStatus,
    Person,
    PromotionGrant,
    Role,
    TitleGrant,
)
from compete.models.base import utcnow
from tests.scenario import ranked_event

from ..factories import csrf_from, make_user


def _scenario(app, n=3, *, state, published_at=None, **kwargs):
    with app.app_context():
        extra = {"published_at": published_at} if published_at else {}
        scenario = ranked_event(n, state=state, **extra, **kwargs)
        db.session.commit()
        return scenario


def _page(client, token, lang="en"):
    client.set_cookie("lang", lang)
    response = client.get(f"/r/{token}")
    return response, response.get_data(as_text=True)


def _attr(html, element_id, name):
    match = re.search(rf'id="{element_id}"[^>]*\b{name}="([^"]*)"', html) or re.search(
        rf'\b{name}="([^"]*)"[^>]*id="{element_id}"', html
    )
    assert match, f"no {name} on #{element_id}"
    return match.group(1)


def _text(html, element_id):
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</', html, re.S)
    assert match, f"no #{element_id}"
    return match.group(1).strip()


def _step_states(html):
    return dict(re.findall(r'data-step="([a-z_]+)" data-step-state="([a-z]+)"', html))


def _edit_entry(app, entry_id, **values):
    with app.app_context():
        entry = db.session.get(Entry, entry_id)
        for key, value in values.items():
            setattr(entry, key, value)
        db.session.commit()


# --- stages ------------------------------------------------------------------------------------


def test_a_returned_registration_says_so_and_shows_no_admission_or_results(app, client):
    s = _scenario(app, state=EventState.REGISTRATION_CLOSED)
    _edit_entry(app, s.entry_ids[0], status=EntryStatus.RETURNED, admission_no=None)
    response, html = _page(client, s.tokens[0])
    assert response.status_code == 200
    assert _attr(html, "qr-result", "data-status") == "returned"
    assert 'id="qr-registration"' in html
    assert 'id="qr-admission"' not in html and 'id="qr-results-card"' not in html
    assert _step_states(html)["approved"] == "current"


def test_after_approval_the_page_shows_the_admission_number_and_no_score(app, client):
    s = _scenario(app, state=EventState.REGISTRATION_CLOSED)
    _edit_entry(app, s.entry_ids[0], entry_number=None, station_number=None)
    _, html = _page(client, s.tokens[0])
    with app.app_context():
        entry = db.session.get(Entry, s.entry_ids[0])
        admission_no, final = (
            entry.admission_no,
            db.session.scalar(select(EntryScore.final).where(EntryScore.entry_id == entry.id)),
        )
    assert _text(html, "qr-admission-no") == admission_no
    assert _step_states(html)["approved"] == "done"
    assert _step_states(html)["drawn"] == "current"
    # Stored figures exist already, yet nothing before publication shows them.
    assert 'id="qr-not-yet"' in html and 'id="qr-final"' not in html and str(final) not in html


def test_after_the_draw_the_page_shows_number_and_session(app, client):
    s = _scenario(app, state=EventState.DRAWN)
    _edit_entry(app, s.entry_ids[1], session_no=2, run_order=5)
    _, html = _page(client, s.tokens[1])
    assert _text(html, "qr-entry-number") == "002"
    assert _text(html, "qr-session").startswith("2")
    assert _attr(html, "qr-checkin", "data-checked-in") == "no"
    assert _step_states(html)["drawn"] == "done"
    assert _step_states(html)["checked_in"] == "current"


def test_after_check_in_and_during_the_event_no_score_is_shown(app, client):
    s = _scenario(app, state=EventState.IN_PROGRESS)
    with app.app_context():
        db.session.add(CheckIn(entry_id=s.entry_ids[0], event_id=s.event_id, method="qr"))
        db.session.commit()
    _, html = _page(client, s.tokens[0])
    assert _attr(html, "qr-checkin", "data-checked-in") == "yes"
    assert _step_states(html)["checked_in"] == "done"
    assert _step_states(html)["marked"] == "current"
    assert _attr(html, "qr-result", "data-published") == "no"
    assert 'id="qr-not-yet"' in html
    assert 'id="qr-final"' not in html and 'id="qr-rank"' not in html
    assert 'id="qr-award"' not in html and 'id="qr-badge"' not in html


def test_under_review_still_shows_no_score(app, client):
    s = _scenario(app, state=EventState.UNDER_REVIEW)
    _, html = _page(client, s.tokens[0])
    assert _step_states(html)["marked"] == "done"
    assert 'id="qr-final"' not in html and "95.00" not in html


def test_during_publicity_the_page_shows_scores_rank_award_honours_and_the_appeal_deadline(
    app, client
):
    s = _scenario(app, n=4, state=EventState.PUBLICITY, published_at=utcnow() - timedelta(hours=1))
    with app.app_context():
        db.session.add(
            AwardGrant(event_id=s.event_id, entry_id=s.entry_ids[0], rank=1, award="first")
        )
        db.session.add(
            TitleGrant(
                person_id=s.person_ids[0],
                event_id=s.event_id,
                entry_id=s.entry_ids[0],
                title="GD_TECH_EXPERT",
            )
        )
        db.session.add(
            PromotionGrant(
                person_id=s.person_ids[0],
                event_id=s.event_id,
                entry_id=s.entry_ids[0],
                occupation="电工",
                from_grade=3,
                to_grade=4,
            )
        )
        db.session.get(Event, s.event_id).results_version += 1
        db.session.commit()
    response, html = _page(client, s.tokens[0])
    assert response.status_code == 200
    assert _attr(html, "qr-badge", "data-badge") == "publicity"
    assert _text(html, "qr-final") == "95.00"
    assert _attr(html, "qr-rank", "data-rank") == "1"
    assert _attr(html, "qr-rank", "data-of") == "4"
    assert _attr(html, "qr-award", "data-award") == "first"
    assert 'data-module="M1"' in html
    assert 'data-title="GD_TECH_EXPERT" data-grant="proposed"' in html
    assert 'data-promotion="4" data-grant="proposed"' in html
    assert _attr(html, "qr-appeal", "data-open") == "yes"
    assert _text(html, "qr-appeal-deadline")
    assert _step_states(html)["published"] == "done"
    assert _step_states(html)["final"] == "current"
    assert 'id="qr-certificates"' not in html


def test_after_the_appeal_deadline_the_page_says_it_has_passed(app, client):
    s = _scenario(app, state=EventState.PUBLICITY, published_at=utcnow() - timedelta(hours=3))
    _, html = _page(client, s.tokens[0])
    assert _attr(html, "qr-appeal", "data-open") == "no"
    assert 'id="qr-appeal-link"' not in html


def test_final_results_show_granted_honours_and_certificates(app, client):
    s = _scenario(app, state=EventState.AWARDS_ISSUED)
    with app.app_context():
        award = AwardGrant(event_id=s.event_id, entry_id=s.entry_ids[0], rank=1, award="first")
        db.session.add(award)
        db.session.add(
            AwardGrant(
                event_id=s.event_id,
                entry_id=s.entry_ids[0],
                rank=1,
                award="second",
                is_current=False,
            )
        )
        db.session.add(
            TitleGrant(
                person_id=s.person_ids[0],
                event_id=s.event_id,
                entry_id=s.entry_ids[0],
                title="GD_TECH_EXPERT",
                status=GrantStatus.GRANTED,
            )
        )
        db.session.flush()
        for number, token, status in (
            ("GD2026000001X", "cert-token-valid-aaaaaaaaaaaaaaaa", CertificateStatus.VALID),
            ("GD2026000002Y", "cert-token-revoked-bbbbbbbbbbbbbbb", CertificateStatus.REVOKED),
        ):
            db.session.add(
                Certificate(
                    number=number,
                    token=token,
                    kind=CertificateKind.AWARD,
                    person_id=s.person_ids[0],
                    event_id=s.event_id,
                    entry_id=s.entry_ids[0],
                    award_grant_id=award.id,
                    wording="一等奖",
                    issuer="广东省人力资源和社会保障厅",
                    status=status,
                )
            )
        db.session.get(Event, s.event_id).results_version += 1
        db.session.commit()
    _, html = _page(client, s.tokens[0])
    assert _attr(html, "qr-badge", "data-badge") == "final"
    assert _attr(html, "qr-award", "data-award") == "first"  # the current grant only
    assert 'data-title="GD_TECH_EXPERT" data-grant="granted"' in html
    assert 'id="qr-appeal"' not in html
    assert 'data-certificate="GD2026000001X" data-cert-status="valid"' in html
    assert 'data-certificate="GD2026000002Y" data-cert-status="revoked"' in html
    assert _step_states(html)["certificate"] == "done"
    valid = html.split('data-certificate="GD2026000001X"')[1].split("</li>")[0]
    revoked = html.split('data-certificate="GD2026000002Y"')[1].split("</li>")[0]
    assert "cert-token-revoked" not in revoked and "data-link" not in revoked
    with app.app_context():
        cert_id = db.session.scalar(
            select(Certificate.id).where(Certificate.number == "GD2026000001X")
        )
    if "awards.own_certificate_pdf" in app.view_functions:
        assert f'href="/r/{s.tokens[0]}/certificates/{cert_id}.pdf" data-link="pdf"' in valid
        assert f'href="/r/{s.tokens[0]}/certificates/{cert_id}.png" data-link="png"' in valid
    if "awards.certificate_by_token" in app.view_functions:
        assert 'data-link="verify"' in valid and "cert-token-valid" in valid


def test_another_entrants_certificate_is_not_listed(app, client):
    s = _scenario(app, state=EventState.AWARDS_ISSUED)
    with app.app_context():
        db.session.add(
            Certificate(
                number="GD2026000009Z",
                token="someone-elses-certificate-token-x",
                kind=CertificateKind.AWARD,
                person_id=s.person_ids[1],
                event_id=s.event_id,
                entry_id=s.entry_ids[1],
                wording="二等奖",
                issuer="广东省",
            )
        )
        db.session.commit()
    _, html = _page(client, s.tokens[0])
    assert "GD2026000009Z" not in html and 'id="qr-certificates"' not in html
    assert _step_states(html)["certificate"] == "current"


def test_a_contestant_account_is_offered_but_never_required(app, client):
    s = _scenario(app, n=2, state=EventState.FINAL)
    with app.app_context():
        number = db.session.get(Person, s.person_ids[0]).id_number
        make_user(Role.CONTESTANT, username=number)
        db.session.commit()
    response, html = _page(client, s.tokens[0])
    assert response.status_code == 200
    link = _attr(html, "qr-sign-in", "href")
    assert link.startswith("/login?next=") and number not in html
    _, other = _page(client, s.tokens[1])
    assert 'id="qr-sign-in"' not in other


# --- privacy -----------------------------------------------------------------------------------


def test_the_page_shows_only_its_own_entrant_masked_and_no_personal_numbers(app, client):
    s = _scenario(app, n=3, state=EventState.FINAL, finals=["91.25", "88.75", "77.50"])
    with app.app_context():
        people = [db.session.get(Person, pid) for pid in s.person_ids]
        own, others = people[0], people[1:]
        own_data = (own.name, own.id_number, own.masked_id, own.phone, own.birth_date)
        other_units = [db.session.get(Entry, e).unit.name for e in s.entry_ids[1:]]
        other_names = [p.name for p in others]
    _, html = _page(client, s.tokens[0])
    name, id_number, masked_id, phone, birth = own_data
    assert f'<span class="qr-name">{mask_name(name)}</span>' in html
    assert name not in html
    assert id_number not in html and masked_id not in html
    assert phone not in html
    if birth:
        assert birth.isoformat() not in html and birth.strftime("%Y%m%d") not in html
    for other in other_names:
        assert other not in html
    for unit in other_units:
        assert unit not in html
    assert "88.75" not in html and "77.50" not in html
    assert s.tokens[1] not in html and s.tokens[2] not in html


def test_the_page_is_private_to_its_reader_and_sets_no_cookie(app, client):
    s = _scenario(app, state=EventState.FINAL)
    response, _ = _page(client, s.tokens[0])
    cache_control = response.headers["Cache-Control"]
    assert "private" in cache_control and "public" not in cache_control
    assert "Set-Cookie" not in response.headers
    assert response.headers["X-Robots-Tag"].startswith("noindex")
    again = client.get(f"/r/{s.tokens[0]}", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""


def test_page_and_stylesheet_weigh_under_100_kb_and_need_no_script(app, client):
    s = _scenario(app, state=EventState.AWARDS_ISSUED)
    response, html = _page(client, s.tokens[0], lang="zh_CN")
    css_links = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    assert len(css_links) == 1
    with client.get(css_links[0]) as css:
        assert css.status_code == 200
        css_bytes = len(css.get_data())
    assert len(response.get_data()) + css_bytes < 100 * 1024
    assert "<script" not in html and "<form" not in html


# --- misses ------------------------------------------------------------------------------------


def _altered(token: str) -> list[str]:
    flip = "A" if token[5] != "A" else "B"
    return [
        token[:5] + flip + token[6:],  # one character changed
        token[:-1],  # truncated
        token + "x",  # extended
        token.upper() if token.upper() != token else token.lower(),
        "not-a-token",
        "%21%40%23",  # characters no token has
        "x" * 300,
    ]


def test_a_wrong_or_altered_token_gets_the_same_plain_404(app, client):
    s = _scenario(app, state=EventState.FINAL)
    pages = set()
    for bad in _altered(s.tokens[0]):
        response = client.get(f"/r/{bad}")
        assert response.status_code == 404, bad
        body = response.get_data(as_text=True)
        assert 'data-status="404"' in body
        assert body.count('class="qr-miss-lang"') == 2  # Chinese and English, once each
        assert response.headers["Cache-Control"] == "no-store"
        pages.add(body)
    assert len(pages) == 1  # nothing tells one kind of miss from another


def test_every_miss_costs_the_same_work_whatever_its_shape(app, client, monkeypatch):
    """No shape or length check answers a malformed token sooner than a well-formed one: every
    miss runs the one stamp query with the token as given, and nothing else."""
    s = _scenario(app, state=EventState.FINAL)
    queried, other_sql = [], []
    run_stamp = services._run_stamp

    def counting(token):
        queried.append(token)
        return run_stamp(token)

    def count(*_args, **_kwargs):
        other_sql.append(1)

    monkeypatch.setattr(services, "_run_stamp", counting)
    with app.app_context():
        engine = db.engine
    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        misses = _altered(s.tokens[0])
        for token in misses:
            assert client.get(f"/r/{token}").status_code == 404
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)
    assert queried == [t.replace("%21%40%23", "!@#") for t in misses]
    assert other_sql == []


@pytest.fixture
def miss_limit(app, monkeypatch):
    """Rate limits on for this test: 5 misses a minute per address, fresh counters."""
    monkeypatch.setitem(app.config, "RATELIMIT_ENABLED", True)
    monkeypatch.setitem(app.config, "QR_MISS_RATE_LIMIT", "5 per minute")
    app.extensions.pop("compete_qr_miss_limiter", None)
    yield
    app.extensions.pop("compete_qr_miss_limiter", None)


def test_misses_are_limited_per_address_while_valid_tokens_always_work(app, client, miss_limit):
    s = _scenario(app, state=EventState.FINAL)
    venue = {"REMOTE_ADDR": "10.1.2.3"}
    for n in range(5):
        assert client.get(f"/r/guess{n}", environ_base=venue).status_code == 404
    limited = client.get("/r/guess-again", environ_base=venue)
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    body = limited.get_data(as_text=True)
    assert 'data-status="429"' in body and 'lang="zh-CN"' in body and 'lang="en"' in body
    # Hundreds of phones share the venue address: their own pages never stop working.
    for token in s.tokens * 4:
        assert client.get(f"/r/{token}", environ_base=venue).status_code == 200
    assert client.get("/r/guess-more", environ_base=venue).status_code == 429
    # Another address is not affected.
    assert client.get("/r/guess0", environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 404


# --- cache -------------------------------------------------------------------------------------


def test_a_correction_is_shown_at_the_next_read_and_pages_are_never_shared(app, client):
    s = _scenario(app, n=2, state=EventState.FINAL, finals=["90.00", "80.00"])
    _, first = _page(client, s.tokens[0])
    assert _text(first, "qr-final") == "90.00"
    with app.app_context():
        row = db.session.scalar(select(EntryScore).where(EntryScore.entry_id == s.entry_ids[0]))
        row.final = Decimal("89.50")
        db.session.commit()
    # Without a new results version the copy in the cache is what readers get...
    _, cached = _page(client, s.tokens[0])
    assert _text(cached, "qr-final") == "90.00"
    # ...and the correction, which bumps it, shows at once.
    with app.app_context():
        db.session.get(Event, s.event_id).results_version += 1
        db.session.commit()
    _, fresh = _page(client, s.tokens[0])
    assert _text(fresh, "qr-final") == "89.50"
    _, other = _page(client, s.tokens[1])
    assert _text(other, "qr-final") == "80.00"


def test_each_language_is_cached_on_its_own(app, client):
    s = _scenario(app, state=EventState.FINAL)
    _, english = _page(client, s.tokens[0], lang="en")
    _, chinese = _page(client, s.tokens[0], lang="zh_CN")
    assert '<html lang="en">' in english
    assert '<html lang="zh-CN">' in chinese
    # Each offers the other language only.
    assert "lang=zh_CN" in english and "lang=en" not in english
    assert "lang=en" in chinese and "lang=zh_CN" not in chinese


def test_a_renamed_person_shows_at_once_after_publication(app, client):
    s = _scenario(app, state=EventState.FINAL)
    _page(client, s.tokens[0])
    with app.app_context():
        db.session.get(Person, s.person_ids[0]).name = "欧阳娜娜"
        db.session.commit()
    _, html = _page(client, s.tokens[0])
    assert "欧**娜" in html


# --- revoke and re-issue -----------------------------------------------------------------------


def _token_form(client, s):
    url = f"/events/{s.event_id}/entries/{s.entry_ids[0]}/qr"
    page = client.get(url)
    assert page.status_code == 200
    return url, csrf_from(page.get_data(as_text=True))


def test_the_organiser_reissues_a_token_and_the_old_one_404s(app, client, login_as):
    s = _scenario(app, state=EventState.FINAL)
    login_as(Role.ORGANISER, competition_id=s.competition_id)
    old = s.tokens[0]
    assert client.get(f"/r/{old}").status_code == 200
    url, csrf = _token_form(client, s)
    response = client.post(
        url, data={"action": "reissue", "reason": "准考证遗失", "csrf_token": csrf}
    )
    assert response.status_code == 302
    with app.app_context():
        new = db.session.get(Entry, s.entry_ids[0]).qr_token
        audit = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "entry.qr_token_reissued")
        ).one()
        logged = f"{audit.before} {audit.after} {audit.reason}"
    assert new and new != old
    assert client.get(f"/r/{old}").status_code == 404
    assert client.get(f"/r/{new}").status_code == 200
    assert audit.reason == "准考证遗失" and old not in logged and new not in logged


def test_the_organiser_revokes_a_token_with_a_reason(app, client, login_as):
    s = _scenario(app, state=EventState.FINAL)
    login_as(Role.ORGANISER, competition_id=s.competition_id)
    url, csrf = _token_form(client, s)
    refused = client.post(url, data={"action": "revoke", "reason": "", "csrf_token": csrf})
    assert refused.status_code == 422
    assert client.get(f"/r/{s.tokens[0]}").status_code == 200
    done = client.post(url, data={"action": "revoke", "reason": "二维码外泄", "csrf_token": csrf})
    assert done.status_code == 302
    assert client.get(f"/r/{s.tokens[0]}").status_code == 404
    with app.app_context():
        assert db.session.get(Entry, s.entry_ids[0]).qr_token is None
        assert db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "entry.qr_token_revoked")
        ).one()


def test_an_organiser_of_another_competition_cannot_touch_the_token(app, client, auth, login_as):
    s = _scenario(app, state=EventState.FINAL)
    other = _scenario(app, n=1, state=EventState.FINAL, people_seed=99)
    login_as(Role.ORGANISER, competition_id=other.competition_id)
    assert client.get(f"/events/{s.event_id}/entries/{s.entry_ids[0]}/qr").status_code == 403
    # An entry of another event under this event's URL is not found.
    auth.logout()
    login_as(Role.ORGANISER, competition_id=s.competition_id)
    assert client.get(f"/events/{s.event_id}/entries/{other.entry_ids[0]}/qr").status_code == 404


def test_hello_is_a_plain_answer(client):
    response = client.get("/hello")
    assert response.status_code == 200 and response.get_data() == b"hello"


def test_a_new_certificate_shows_at_once_on_a_cached_page(app, client):
    """Issuing certificates bumps the results version, so the cached page is rebuilt."""
    from compete.blueprints.awards.certificates import issue_certificates
    from compete.models import AwardGrant, Event

    from ..scenario import NOW, ranked_event

    with app.app_context():
        s = ranked_event(5, state="final")
        db.session.add(
            AwardGrant(event_id=s.event_id, entry_id=s.entry_ids[0], rank=1, award="first")
        )
        db.session.commit()
        token = s.tokens[0]
    before = client.get(f"/r/{token}").get_data(as_text=True)
    with app.app_context():
        report = issue_certificates(None, db.session.get(Event, s.event_id), now=NOW)
        db.session.commit()
        number = report.issued[0].number
    assert number not in before
    assert number in client.get(f"/r/{token}").get_data(as_text=True)
