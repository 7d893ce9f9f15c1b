"""Certificates (获奖证书, 晋级证明): who gets one, unique checkable numbers, the PDF and its QR
code, the public verification page (QR or typed number), revocation, the batch job and the
look-up rate limit."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from flask_babel import gettext
from PIL import Image
from sqlalchemy import func, select

from compete import jobs
from compete.blueprints.awards import certificates as service
from compete.domain.awards import Award
from compete.domain.errors import Conflict, InvalidInput
from compete.domain.grades import Grade, grade_label
from compete.domain.lifecycle import EventState
from compete.domain.people import mask_name
from compete.domain.tokens import (
    CHECK_ALPHABET,
    certificate_number,
    verify_certificate_number,
)
from compete.extensions import db
from compete.models import (
    AuditEntry,
    AwardGrant,
    Certificate,
    CertificateKind,
    CertificateStatus,
    Entry,
    EntryMember,
    Event,
    GrantStatus,
    Person,
    PromotionGrant,
    Role,
    TitleGrant,
)

from ..conftest import build_app
from ..factories import csrf_from, make_competition
from ..scenario import ranked_event

NOW = datetime(2027, 1, 5, 2, 0, tzinfo=UTC)
ORGANISER = "广东省人力资源和社会保障厅"
COMPETITION = "2026年广东省职业技能大赛"
AWARDS = [Award.FIRST, Award.SECOND, Award.THIRD, Award.MERIT, None, None]
POPPLER = all(shutil.which(tool) for tool in ("pdftotext", "pdffonts", "pdftoppm"))
needs_poppler = pytest.mark.skipif(not POPPLER, reason="poppler-utils is not installed")


@dataclass(frozen=True)
class World:
    competition_id: int
    event_id: int
    entry_ids: list[int]
    person_ids: list[int]
    names: list[str]
    id_numbers: list[str]
    phones: list[str]
    teammate_id: int  # the second member of entry 1 (a pair)
    teammate_name: str


def _build(state=EventState.FINAL, *, awards=AWARDS) -> World:
    competition = make_competition(name=COMPETITION, organiser=ORGANISER, year=2026)
    s = ranked_event(len(awards), state=state, competition=competition)
    event = db.session.get(Event, s.event_id)
    teammate = Person(name="欧阳娜娜", gender="F", id_number="440106199505051234", phone="")
    db.session.add(teammate)
    db.session.flush()
    db.session.add(
        EntryMember(entry_id=s.entry_ids[1], event_id=event.id, person_id=teammate.id, position=2)
    )
    for rank, (entry_id, award) in enumerate(zip(s.entry_ids, awards, strict=True), start=1):
        db.session.add(
            AwardGrant(
                event_id=event.id,
                entry_id=entry_id,
                rank=rank,
                award=None if award is None else award.value,
            )
        )
    p = s.person_ids
    db.session.add_all(
        [
            TitleGrant(
                person_id=p[0],
                event_id=event.id,
                entry_id=s.entry_ids[0],
                title="GD_TECH_EXPERT",
                status=GrantStatus.GRANTED,
            ),
            TitleGrant(
                person_id=p[1],
                event_id=event.id,
                entry_id=s.entry_ids[1],
                title="GD_TECH_EXPERT",
                status=GrantStatus.PROPOSED,
            ),
            TitleGrant(
                person_id=p[2],
                event_id=event.id,
                entry_id=s.entry_ids[2],
                title="GD_TECH_EXPERT",
                status=GrantStatus.DECLINED,
            ),
            PromotionGrant(
                person_id=p[0],
                event_id=event.id,
                entry_id=s.entry_ids[0],
                occupation="电工",
                from_grade=Grade.L3,
                to_grade=Grade.L2,
                status=GrantStatus.GRANTED,
            ),
            PromotionGrant(
                person_id=p[3],
                event_id=event.id,
                entry_id=s.entry_ids[3],
                occupation="电工",
                from_grade=Grade.L3,
                to_grade=Grade.L2,
                status=GrantStatus.PROPOSED,
            ),
        ]
    )
    db.session.flush()
    people = [db.session.get(Person, pid) for pid in p]
    return World(
        competition_id=competition.id,
        event_id=event.id,
        entry_ids=s.entry_ids,
        person_ids=p,
        names=[person.name for person in people],
        id_numbers=[person.id_number for person in people],
        phones=[person.phone for person in people],
        teammate_id=teammate.id,
        teammate_name=teammate.name,
    )


@pytest.fixture
def world(app) -> World:
    with app.app_context():
        w = _build()
        db.session.commit()
        return w


def _issue(app, world: World) -> list[Certificate]:
    with app.app_context():
        report = service.issue_certificates(None, db.session.get(Event, world.event_id), now=NOW)
        db.session.commit()
        return [_plain(c) for c in report.issued]


@dataclass(frozen=True)
class Cert:
    id: int
    number: str
    token: str
    kind: CertificateKind
    person_id: int
    wording: str
    issuer: str


def _plain(c: Certificate) -> Cert:
    return Cert(c.id, c.number, c.token, c.kind, c.person_id, c.wording, c.issuer)


def _issued(app, world: World) -> list[Cert]:
    with app.app_context():
        stmt = select(Certificate).where(Certificate.event_id == world.event_id)
        return [_plain(c) for c in db.session.scalars(stmt.order_by(Certificate.number))]


def _find(certs: list[Cert], kind: CertificateKind, person_id: int) -> Cert:
    return next(c for c in certs if c.kind is kind and c.person_id == person_id)


def _text(app, msgid: str, **params) -> str:
    """``msgid`` as the app shows it in the default language (translated or not yet)."""
    with app.test_request_context("/"):
        return gettext(msgid, **params)


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


# ---------------------------------------------------------------- who gets a certificate


def test_issue_covers_current_awards_per_member_and_granted_titles_and_promotions(app, world):
    issued = _issue(app, world)
    kinds = sorted((c.kind.value, c.person_id) for c in issued)
    p = world.person_ids
    awards = [("award", person) for person in (p[0], p[1], world.teammate_id, p[2], p[3])]
    expected = sorted([*awards, ("title", p[0]), ("promotion", p[0])])
    assert kinds == expected  # 优胜奖 included; no award, proposed or declined: nothing
    wording = {(c.kind, c.person_id): c.wording for c in issued}
    assert wording[CertificateKind.AWARD, p[0]] == "First prize"
    assert wording[CertificateKind.AWARD, world.teammate_id] == "Second prize"
    assert wording[CertificateKind.AWARD, p[3]] == "Merit award"
    assert wording[CertificateKind.PROMOTION, p[0]] == grade_label(Grade.L2)
    assert {c.issuer for c in issued} == {ORGANISER}


def test_numbers_are_unique_sequential_and_carry_a_valid_check_character(app, world):
    issued = _issue(app, world)
    numbers = [c.number for c in issued]
    assert len(set(numbers)) == len(numbers) == 7
    prefix = f"C{world.competition_id:03d}"
    assert numbers == [certificate_number(prefix, 2026, seq) for seq in range(1, 8)]
    for number in numbers:
        assert verify_certificate_number(number)
        assert re.fullmatch(rf"{prefix}2026\d{{6}}[0-9A-Z*]", number)
    tokens = [c.token for c in issued]
    assert len(set(tokens)) == len(tokens)
    assert all(len(token) >= 32 and re.fullmatch(r"[A-Za-z0-9_\-]+", token) for token in tokens)
    # The sequence runs on for the next event of the same competition and year.
    with app.app_context():
        competition = db.session.get(Event, world.event_id).competition
        later = ranked_event(1, state=EventState.FINAL, competition=competition, people_seed=7)
        db.session.add(
            AwardGrant(event_id=later.event_id, entry_id=later.entry_ids[0], rank=1, award="first")
        )
        report = service.issue_certificates(None, db.session.get(Event, later.event_id), now=NOW)
        assert [c.number for c in report.issued] == [certificate_number(prefix, 2026, 8)]


def test_issuing_again_adds_nothing_and_audits_each_batch(app, world):
    first = _issue(app, world)
    assert _issue(app, world) == []
    assert len(_issued(app, world)) == len(first)
    with app.app_context():
        plan = service.plan_certificates(db.session.get(Event, world.event_id))
        assert plan.planned == [] and plan.existing == len(first)
        audits = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "certificates.issued")
        ).all()
        assert len(audits) == 1
        assert audits[0].after["count"] == 7
        assert sorted(audits[0].after["numbers"]) == sorted(c.number for c in first)


def test_an_unchanged_reallocation_adds_nothing_a_changed_award_adds_a_certificate(app, world):
    _issue(app, world)
    with app.app_context():
        for grant in db.session.scalars(
            select(AwardGrant).where(AwardGrant.event_id == world.event_id)
        ):
            grant.is_current = False
        for rank, (entry_id, award) in enumerate(
            zip(world.entry_ids, ["first", "second", "third", "third", None, None], strict=True),
            start=1,
        ):
            db.session.add(
                AwardGrant(event_id=world.event_id, entry_id=entry_id, rank=rank, award=award)
            )
        db.session.commit()
    added = _issue(app, world)
    assert [(c.kind, c.person_id, c.wording) for c in added] == [
        (CertificateKind.AWARD, world.person_ids[3], "Third prize")
    ]


def test_a_flagged_award_waits_for_the_boundary_decision(app, world):
    with app.app_context():
        grant = db.session.scalar(
            select(AwardGrant).where(AwardGrant.entry_id == world.entry_ids[3])
        )
        grant.flagged = True
        db.session.commit()
        plan = service.plan_certificates(db.session.get(Event, world.event_id))
        assert plan.waiting == 1
        assert world.person_ids[3] not in {p.person.id for p in plan.planned}
        grant.decision_reason = "裁判长决定：并列者均获优胜奖"
        db.session.commit()
        plan = service.plan_certificates(db.session.get(Event, world.event_id))
        assert plan.waiting == 0
        assert world.person_ids[3] in {p.person.id for p in plan.planned}


@pytest.mark.parametrize("state", [EventState.SCORING_LOCKED, EventState.PUBLICITY])
def test_nothing_is_issued_before_the_results_are_final(app, state):
    with app.app_context():
        w = _build(state)
        with pytest.raises(Conflict):
            service.issue_certificates(None, db.session.get(Event, w.event_id), now=NOW)
        db.session.rollback()
        assert db.session.scalar(select(func.count(Certificate.id))) == 0


def test_a_number_taken_meanwhile_is_skipped_not_reused(app, world):
    """Another issuer took the next number after this batch read the highest: the unique
    constraint refuses the clash and the certificate takes the following number."""
    with app.app_context():
        event = db.session.get(Event, world.event_id)
        numbers = service._Numbers(event.competition)
        prefix = service.number_prefix(event.competition)
        other = Certificate(
            number=certificate_number(prefix, 2026, 1),
            token="taken-elsewhere-token-0000000000",
            kind=CertificateKind.AWARD,
            person_id=world.person_ids[5],
            event_id=event.id,
            wording="First prize",
            issuer=ORGANISER,
        )
        db.session.add(other)
        db.session.flush()
        mine = Certificate(
            kind=CertificateKind.AWARD,
            person_id=world.person_ids[4],
            event_id=event.id,
            wording="First prize",
            issuer=ORGANISER,
        )
        service._insert(mine, numbers)
        db.session.commit()
        assert mine.number == certificate_number(prefix, 2026, 2)
        assert db.session.scalar(select(func.count(Certificate.id))) == 2


# ---------------------------------------------------------------- the PDF and image


def _pdf_text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout


@needs_poppler
def test_certificate_pdf_shows_name_wording_number_issuer_and_embeds_noto_cjk(
    app, client, login_as, world, tmp_path
):
    _issue(app, world)
    cert = _find(_issued(app, world), CertificateKind.AWARD, world.person_ids[0])
    login_as(Role.ORGANISER, competition_id=world.competition_id)
    response = client.get(f"/events/{world.event_id}/certificates/{cert.id}.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert cert.number in response.headers["Content-Disposition"]
    assert "no-store" in response.headers["Cache-Control"]
    text = _flat(_pdf_text(response.data, tmp_path))
    assert world.names[0] in text
    assert _flat(_text(app, "First prize")) in text
    assert _flat(_text(app, "Award certificate")) in text
    assert cert.number in text
    assert ORGANISER in text and COMPETITION in text
    assert "2027-01-05" in text  # the issue date in Beijing time
    assert world.id_numbers[0] not in text and world.phones[0] not in text
    path = tmp_path / "certificate.pdf"
    path.write_bytes(response.data)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, check=True, text=True)
    rows = [line.split() for line in fonts.stdout.splitlines()[2:]]
    noto = [row for row in rows if re.search(r"Noto-?(Sans|Serif)-?CJK", row[0])]
    assert noto, fonts.stdout
    assert all(row[-5] == "yes" for row in noto), fonts.stdout  # embedded


@needs_poppler
def test_promotion_and_title_certificates_say_what_they_certify(
    app, client, login_as, world, tmp_path
):
    _issue(app, world)
    certs = _issued(app, world)
    login_as(Role.ORGANISER, competition_id=world.competition_id)
    promotion = _find(certs, CertificateKind.PROMOTION, world.person_ids[0])
    text = _flat(
        _pdf_text(
            client.get(f"/events/{world.event_id}/certificates/{promotion.id}.pdf").data, tmp_path
        )
    )
    assert _flat(_text(app, "Promotion certificate")) in text
    assert _flat(grade_label(Grade.L2)) in text and "电工" in text
    title = _find(certs, CertificateKind.TITLE, world.person_ids[0])
    text = _flat(
        _pdf_text(
            client.get(f"/events/{world.event_id}/certificates/{title.id}.pdf").data, tmp_path
        )
    )
    assert _flat(_text(app, "Guangdong Technical Expert")) in text


def test_the_qr_code_carries_the_verification_url_with_the_token_only(
    app, client, login_as, world, monkeypatch
):
    _issue(app, world)
    cert = _find(_issued(app, world), CertificateKind.AWARD, world.person_ids[0])
    seen: list[str] = []
    real = service.qr_svg

    def recording(url: str) -> str:
        seen.append(url)
        return real(url)

    monkeypatch.setattr(service, "qr_svg", recording)
    login_as(Role.ORGANISER, competition_id=world.competition_id)
    assert client.get(f"/events/{world.event_id}/certificates/{cert.id}.pdf").status_code == 200
    assert seen == [f"http://localhost/c/{cert.token}"]
    assert cert.number not in seen[0] and world.id_numbers[0] not in seen[0]
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://verify.example.cn/")
    with app.test_request_context("/"):
        certificate = db.session.get(Certificate, cert.id)
        html = service.certificate_html([certificate], base_url="https://verify.example.cn/")
    assert real(f"https://verify.example.cn/c/{cert.token}") in html
    seen.clear()
    client.get(f"/events/{world.event_id}/certificates/{cert.id}.pdf")
    assert seen == [f"https://verify.example.cn/c/{cert.token}"]


@needs_poppler
def test_certificate_image_is_a_landscape_png_whose_qr_decodes_to_the_verification_page(
    app, client, login_as, world
):
    _issue(app, world)
    cert = _find(_issued(app, world), CertificateKind.AWARD, world.person_ids[0])
    login_as(Role.ORGANISER, competition_id=world.competition_id)
    response = client.get(f"/events/{world.event_id}/certificates/{cert.id}.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert "attachment" not in response.headers.get("Content-Disposition", "")
    image = Image.open(io.BytesIO(response.data))
    width, height = image.size
    assert width > height >= 1000  # A4 landscape, large enough for a phone screen
    pyzbar = pytest.importorskip("pyzbar.pyzbar")
    decoded = [d.data.decode() for d in pyzbar.decode(image)]
    assert decoded == [f"http://localhost/c/{cert.token}"]


def test_contestant_opens_own_certificate_with_the_result_token_only(app, client, world):
    _issue(app, world)
    cert = _find(_issued(app, world), CertificateKind.AWARD, world.person_ids[0])
    with app.app_context():
        own = db.session.get(Entry, world.entry_ids[0]).qr_token
        other = db.session.get(Entry, world.entry_ids[2]).qr_token
    if POPPLER:
        assert client.get(f"/r/{own}/certificates/{cert.id}.png").status_code == 200
    response = client.get(f"/r/{own}/certificates/{cert.id}.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF-")
    assert client.get(f"/r/{other}/certificates/{cert.id}.pdf").status_code == 404
    assert client.get(f"/r/forged-token/certificates/{cert.id}.pdf").status_code == 404
    with app.app_context():
        entry = db.session.get(Entry, world.entry_ids[0])
        assert [c.id for c in service.entry_certificates(entry)] == sorted(
            c.id for c in _issued(app, world) if c.person_id == world.person_ids[0]
        )


def test_other_competitions_organiser_cannot_download(app, client, login_as, world):
    _issue(app, world)
    cert = _issued(app, world)[0]
    other = None
    with app.app_context():
        other = make_competition(name="别的竞赛").id
        db.session.commit()
    login_as(Role.ORGANISER, competition_id=other)
    assert client.get(f"/events/{world.event_id}/certificates/{cert.id}.pdf").status_code == 403
    assert client.get(f"/events/{world.event_id}/certificates").status_code == 403


# ---------------------------------------------------------------- public verification


def _verify_html(client, url: str):
    response = client.get(url)
    return response.status_code, response.get_data(as_text=True)


def test_qr_page_shows_masked_name_number_event_award_issuer_and_dates(app, client, world):
    _issue(app, world)
    cert = _find(_issued(app, world), CertificateKind.AWARD, world.person_ids[0])
    status, page = _verify_html(client, f"/c/{cert.token}")
    assert status == 200
    assert 'data-status="valid"' in page
    assert re.search(r'id="certificate-number"[^>]*>\s*' + re.escape(cert.number), page)
    assert mask_name(world.names[0]) in page
    assert world.names[0] not in page
    assert COMPETITION in page and ORGANISER in page
    assert _text(app, "First prize") in page
    assert "2027-01-05" in page  # issued
    assert re.search(r'id="checked-on">\d{4}-\d{2}-\d{2}<', page)
    for secret in (world.id_numbers[0], world.id_numbers[0][6:14], world.phones[0]):
        assert secret not in page


def test_team_member_page_masks_their_own_name(app, client, world):
    _issue(app, world)
    cert = _find(_issued(app, world), CertificateKind.AWARD, world.teammate_id)
    status, page = _verify_html(client, f"/c/{cert.token}")
    assert status == 200
    assert mask_name(world.teammate_name) == "欧**娜"
    assert "欧**娜" in page and world.teammate_name not in page


def test_promotion_verification_names_occupation_and_grade(app, client, world):
    _issue(app, world)
    cert = _find(_issued(app, world), CertificateKind.PROMOTION, world.person_ids[0])
    status, page = _verify_html(client, f"/c/{cert.token}")
    assert status == 200 and 'data-kind="promotion"' in page
    assert "电工" in page and grade_label(Grade.L2) in page


def test_typed_number_finds_the_certificate_whatever_the_case_and_spacing(app, client, world):
    _issue(app, world)
    cert = _find(_issued(app, world), CertificateKind.AWARD, world.person_ids[1])
    typed = " ".join([cert.number[:4], cert.number[4:8], cert.number[8:]]).lower()
    status, page = _verify_html(client, f"/certificates/verify?number={typed}")
    assert status == 200
    assert f'data-number="{cert.number}"' in page
    assert mask_name(world.names[1]) in page
    status, page = _verify_html(client, "/certificates/verify")
    assert status == 200 and 'id="verify-form"' in page and "verify-result" not in page


def _mistype(number: str) -> str:
    body, check = number[:-1], number[-1]
    wrong = next(ch for ch in CHECK_ALPHABET if ch != check)
    return body + wrong


def test_mistyped_number_says_so_and_changes_nothing(app, client, world):
    _issue(app, world)
    cert = _issued(app, world)[0]
    before = _issued(app, world)
    swapped = cert.number[:5] + cert.number[6] + cert.number[5] + cert.number[7:]
    for typed in (_mistype(cert.number), swapped, "%23%23%23", "C0-12"):
        if typed == cert.number:
            continue
        status, page = _verify_html(client, f"/certificates/verify?number={typed}")
        assert status == 422, typed
        assert 'data-reason="mistyped"' in page and "verify-result" not in page
    assert _issued(app, world) == before


def test_english_messages_for_a_mistyped_and_an_unknown_number(app, client, world):
    _issue(app, world)
    client.set_cookie("lang", "en")
    cert = _issued(app, world)[0]
    _status, page = _verify_html(client, f"/certificates/verify?number={_mistype(cert.number)}")
    assert "last character does not match" in page
    unknown = certificate_number("C999", 2026, 1)
    status, page = _verify_html(client, f"/certificates/verify?number={unknown}")
    assert status == 404
    assert 'data-reason="not_found"' in page
    assert f"No certificate has the number {unknown}" in page


def test_forged_token_is_not_found_and_leaks_nothing(app, client, world):
    _issue(app, world)
    before = _issued(app, world)
    for token in ("A" * 32, "x", "%3Cscript%3E", "a" * 80, before[0].token[:-1]):
        status, page = _verify_html(client, f"/c/{token}")
        assert status == 404, token
        assert 'data-reason="not_found"' in page
        assert "verify-result" not in page
        assert all(name not in page for name in world.names)
    assert _issued(app, world) == before


def test_revoked_certificate_shows_revoked_and_the_revocation_is_audited(
    app, client, login_as, world
):
    _issue(app, world)
    cert = _find(_issued(app, world), CertificateKind.AWARD, world.person_ids[2])
    login_as(Role.ORGANISER, competition_id=world.competition_id)
    page = client.get(f"/events/{world.event_id}/certificates").get_data(as_text=True)
    assert f'data-certificate-id="{cert.id}" data-status="valid"' in page
    token = csrf_from(page)
    url = f"/events/{world.event_id}/certificates/{cert.id}/revoke"
    assert client.post(url, data={"csrf_token": token, "reason": " "}).status_code == 302
    status, page = _verify_html(client, f"/c/{cert.token}")
    assert 'data-status="valid"' in page  # no reason: nothing changed

    response = client.post(url, data={"csrf_token": token, "reason": "成绩复核后更正"})
    assert response.status_code == 302
    status, page = _verify_html(client, f"/c/{cert.token}")
    assert status == 200 and 'data-status="revoked"' in page
    assert 'id="certificate-revoked"' in page
    assert "成绩复核后更正" not in page  # the reason stays internal
    status, page = _verify_html(client, f"/certificates/verify?number={cert.number}")
    assert 'data-status="revoked"' in page
    with app.app_context():
        stored = db.session.get(Certificate, cert.id)
        assert stored.status is CertificateStatus.REVOKED
        assert stored.revoked_reason == "成绩复核后更正"
        audit = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "certificate.revoked")
        )
        assert audit.target_id == cert.id and audit.reason == "成绩复核后更正"
        assert audit.event_id == world.event_id
        entry = db.session.get(Entry, world.entry_ids[2])
        own = entry.qr_token
    # A revoked certificate is no longer downloadable by the contestant, nor issued again.
    assert client.get(f"/r/{own}/certificates/{cert.id}.pdf").status_code == 404
    assert _issue(app, world) == []
    client.post(url, data={"csrf_token": token, "reason": "again"})
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count(AuditEntry.id)).where(AuditEntry.action == "certificate.revoked")
            )
            == 1
        )


def test_revoke_service_refuses_an_empty_reason_and_a_second_revocation(app, world):
    _issue(app, world)
    with app.app_context():
        cert = db.session.scalars(select(Certificate)).first()
        with pytest.raises(InvalidInput):
            service.revoke_certificate(None, cert, reason="  ", now=NOW)
        service.revoke_certificate(None, cert, reason="错发", now=NOW)
        with pytest.raises(Conflict):
            service.revoke_certificate(None, cert, reason="错发", now=NOW)


# ---------------------------------------------------------------- the batch job


def test_bulk_job_issues_reports_progress_per_certificate_and_offers_a_zip(
    app, client, login_as, world, tmp_path, monkeypatch
):
    monkeypatch.setitem(app.config, "CERTIFICATE_BATCH_DIR", str(tmp_path / "batches"))
    calls: list[tuple[int, int | None]] = []
    real = jobs.progress

    def recording(record, done, total=None):
        calls.append((done, total))
        real(record, done, total)

    monkeypatch.setattr(jobs, "progress", recording)
    login_as(Role.ORGANISER, competition_id=world.competition_id)
    page_url = f"/events/{world.event_id}/certificates"
    page = client.get(page_url).get_data(as_text=True)
    assert 'data-count="to-issue"' in page
    response = client.post(
        f"/events/{world.event_id}/certificates/issue", data={"csrf_token": csrf_from(page)}
    )
    assert response.status_code == 302
    location = response.headers["Location"]
    match = re.match(r"^/jobs/([0-9a-f]{32})\?next=(.+)$", location)
    assert match, location
    assert "certificates" in match.group(2)
    status = client.get(f"/jobs/{match.group(1)}?format=json").get_json()
    assert status["status"] == "done", status
    assert status["total"] == status["done"] == 7 and status["percent"] == 100
    assert status["result"]["issued"] == 7 and status["result"]["count"] == 7
    assert calls == [(0, 7)] + [(n, None) for n in range(1, 8)]
    job_page = client.get(location).get_data(as_text=True)
    assert status["result"]["download"] in job_page

    download = client.get(status["result"]["download"])
    assert download.status_code == 200 and download.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(download.data))
    download.close()
    certs = _issued(app, world)
    assert sorted(archive.namelist()) == sorted(f"certificate-{c.number}.pdf" for c in certs)
    assert all(archive.read(name).startswith(b"%PDF-") for name in archive.namelist())
    page = client.get(page_url).get_data(as_text=True)
    assert status["result"]["download"] in page

    # Running it again issues nothing new and rebuilds the download.
    again = client.post(
        f"/events/{world.event_id}/certificates/issue", data={"csrf_token": csrf_from(page)}
    )
    job_id = re.match(r"^/jobs/([0-9a-f]{32})", again.headers["Location"]).group(1)
    result = client.get(f"/jobs/{job_id}?format=json").get_json()["result"]
    assert result["issued"] == 0 and result["count"] == 7
    assert len(_issued(app, world)) == 7


def test_batch_download_of_another_event_or_an_unknown_job_is_404(
    app, client, login_as, world, tmp_path, monkeypatch
):
    monkeypatch.setitem(app.config, "CERTIFICATE_BATCH_DIR", str(tmp_path / "batches"))
    login_as(Role.ORGANISER, competition_id=world.competition_id)
    page = client.get(f"/events/{world.event_id}/certificates").get_data(as_text=True)
    response = client.post(
        f"/events/{world.event_id}/certificates/issue", data={"csrf_token": csrf_from(page)}
    )
    job_id = re.match(r"^/jobs/([0-9a-f]{32})", response.headers["Location"]).group(1)
    with app.app_context():
        other = ranked_event(
            1,
            state=EventState.FINAL,
            competition=db.session.get(Event, world.event_id).competition,
            people_seed=11,
        ).event_id
        db.session.commit()
    assert client.get(f"/events/{other}/certificates/batches/{job_id}.zip").status_code == 404
    assert (
        client.get(f"/events/{world.event_id}/certificates/batches/{'0' * 32}.zip").status_code
        == 404
    )
    assert client.get(f"/events/{world.event_id}/certificates/batches/x.zip").status_code == 404


def test_issue_button_before_final_explains_and_starts_nothing(app, client, login_as):
    with app.app_context():
        w = _build(EventState.PUBLICITY)
        db.session.commit()
    login_as(Role.ORGANISER, competition_id=w.competition_id)
    page = client.get(f"/events/{w.event_id}/certificates").get_data(as_text=True)
    response = client.post(
        f"/events/{w.event_id}/certificates/issue", data={"csrf_token": csrf_from(page)}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/events/{w.event_id}/certificates")
    with app.app_context():
        from compete.models import Job

        assert db.session.scalar(select(func.count(Job.id))) == 0
        assert db.session.scalar(select(func.count(Certificate.id))) == 0


# ---------------------------------------------------------------- rate limit


@pytest.fixture
def limited_app(app):
    """A second app with the look-up limit on; the shared limiter is switched back after."""
    from compete.extensions import limiter

    was_enabled = limiter.enabled
    limited = build_app(RATELIMIT_ENABLED=True, CERTIFICATE_LOOKUP_RATE_LIMIT="3 per minute")
    yield limited
    limiter.enabled = was_enabled
    with limited.app_context():
        db.engine.dispose()


def test_failed_lookups_are_rate_limited_per_address_with_a_clear_429(limited_app):
    with limited_app.app_context():
        db.create_all()
        w = _build()
        db.session.commit()
        report = service.issue_certificates(None, db.session.get(Event, w.event_id), now=NOW)
        db.session.commit()
        token = report.issued[0].token
    client = limited_app.test_client()
    # Successful look-ups do not use up the budget.
    assert [client.get(f"/c/{token}").status_code for _ in range(5)] == [200] * 5
    unknown = certificate_number("C999", 2026, 1)
    statuses = [
        client.get("/c/forged-token-0000").status_code,
        client.get(f"/certificates/verify?number={unknown}").status_code,
        client.get(f"/certificates/verify?number={_mistype(unknown)}").status_code,
        client.get("/c/forged-token-0001").status_code,
    ]
    assert statuses == [404, 404, 422, 429]
    blocked = client.get(f"/c/{token}")
    assert blocked.status_code == 429  # the address waits, whatever it asks next
    assert "Too many attempts" in client.get(f"/c/{token}?lang=en").get_data(as_text=True)
    other = limited_app.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    assert other.get(f"/c/{token}").status_code == 200
