"""Admission tickets (准考证): PDF downloads for unit contacts and organisers, what a ticket shows
and never shows, the QR code's opaque URL, and who may print whose tickets."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from io import BytesIO

import pytest
from flask_babel import gettext
from sqlalchemy import select

from compete import qr
from compete.blueprints.registration import services, tickets
from compete.blueprints.registration.importer import MemberInput
from compete.domain.errors import Conflict
from compete.domain.idnumber import IdType, with_check_digit
from compete.domain.lifecycle import EventState
from compete.extensions import db
from compete.models import AuditEntry, Entry, Event, Person, Role, Unit
from compete.models.base import utcnow

from ..factories import make_competition, make_event, make_unit

pytestmark = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("pdftotext", "pdffonts", "pdfinfo", "pdfimages")),
    reason="poppler-utils (make sysdeps) is not installed",
)

PHONE = "13812345678"


def _id(first17: str) -> str:
    return with_check_digit(first17)


ID_A = _id("44010619900101123")  # 张三, unit A
ID_B = _id("44030519920202234")  # 李四, unit B
ID_C = _id("44010619880303345")  # 王五, unit A, another event (or not approved)


def _member(name: str, id_number: str, *, gender: str = "M", phone: str = PHONE) -> MemberInput:
    return MemberInput(
        name=name,
        gender=gender,
        id_type=IdType.RESIDENT_ID,
        id_number=id_number,
        birth_date=date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14])),
        phone=phone,
        current_grade=None,
        grade_certificate_no=None,
        employer=None,
        row=0,
    )


def _open_event(competition, **fields) -> Event:
    event = make_event(competition, **fields)
    event.state = EventState.REGISTRATION_OPEN
    db.session.flush()
    return event


def _register(event, unit, *members: MemberInput, approve: bool = True) -> Entry:
    entry = services.register_entry(None, event, unit, members=list(members))
    if approve:
        services.decide_entry(None, entry, decision="approve", now=utcnow())
    return entry


@dataclass(frozen=True)
class TicketWorld:
    competition_id: int
    event_id: int
    event_code: str
    other_event_id: int
    unit_a: int
    unit_b: int
    entry_a: int
    entry_b: int
    entry_other: int
    token_a: str
    token_b: str
    admission_a: str
    admission_b: str


@pytest.fixture
def ticketed(app) -> TicketWorld:
    """One event with approved entries of units A (张三) and B (李四); a second event where
    unit A's entry (王五) is only submitted."""
    with app.app_context():
        competition = make_competition(
            name="2026年广东省职业技能大赛",
            organiser="广东省人力资源和社会保障厅",
            host="广州市技师学院",
            venue="广州市技师学院实训中心",
        )
        event = _open_event(
            competition,
            code="E07",
            name="电工",
            occupation="电工",
            start_at=datetime(2026, 11, 30, 0, 30, tzinfo=UTC),
            end_at=datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
        )
        other = _open_event(competition, code="E08", name="焊工", occupation="焊工")
        unit_a, unit_b = make_unit(name="广州市第一技工学校"), make_unit(name="深圳市机电技工学校")
        entry_a = _register(event, unit_a, _member("张三", ID_A))
        entry_b = _register(event, unit_b, _member("李四", ID_B, gender="F"))
        entry_other = _register(other, unit_a, _member("王五", ID_C), approve=False)
        db.session.commit()
        return TicketWorld(
            competition_id=competition.id,
            event_id=event.id,
            event_code=event.code,
            other_event_id=other.id,
            unit_a=unit_a.id,
            unit_b=unit_b.id,
            entry_a=entry_a.id,
            entry_b=entry_b.id,
            entry_other=entry_other.id,
            token_a=entry_a.qr_token,
            token_b=entry_b.qr_token,
            admission_a=entry_a.admission_no,
            admission_b=entry_b.admission_no,
        )


def _text(app, msgid: str, **params) -> str:
    """``msgid`` as a ticket shows it in the default language (translated or not yet)."""
    with app.test_request_context("/"):
        return gettext(msgid, **params)


def _run(args: list[str], pdf: bytes, tmp_path, *, to_stdout: bool = False) -> str:
    """Run a poppler tool on ``pdf`` and return what it prints."""
    path = tmp_path / "tickets.pdf"
    path.write_bytes(pdf)
    command = [*args, str(path), "-"] if to_stdout else [*args, str(path)]
    return subprocess.run(command, capture_output=True, check=True, text=True).stdout


def pdf_text(pdf: bytes, tmp_path) -> str:
    return _run(["pdftotext", "-enc", "UTF-8"], pdf, tmp_path, to_stdout=True)


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _unit_url(w: TicketWorld, unit_id: int | None = None) -> str:
    return f"/units/{unit_id or w.unit_a}/events/{w.event_id}/tickets.pdf"


def _entry_url(w: TicketWorld, entry_id: int, unit_id: int | None = None, event_id=None) -> str:
    return (
        f"/units/{unit_id or w.unit_a}/events/{event_id or w.event_id}"
        f"/entries/{entry_id}/ticket.pdf"
    )


# ---------------------------------------------------------------- what a ticket shows


def test_unit_contact_downloads_the_units_tickets_as_pdf(app, client, login_as, ticketed, tmp_path):
    login_as(Role.UNIT_CONTACT, unit_id=ticketed.unit_a)
    response = client.get(_unit_url(ticketed))
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment")
    assert ticketed.event_code in disposition
    assert response.headers["Cache-Control"] == "no-store"
    assert response.data.startswith(b"%PDF-")

    text = _flat(pdf_text(response.data, tmp_path))
    assert "张三" in text
    assert ticketed.admission_a in text
    assert f"{ID_A[:4]}{'*' * 10}{ID_A[-4:]}" in text
    assert "2026年广东省职业技能大赛" in text
    assert "E07" in text and "广州市第一技工学校" in text
    assert "广州市技师学院实训中心" in text  # the competition's venue: the event has none
    assert "2026-11-3008:30–17:00" in text  # Beijing time
    assert _flat(_text(app, "To be announced after the draw")) in text
    # Never the full ID number, the phone, or another unit's contestant.
    assert ID_A not in text and ID_A[6:14] not in text
    assert PHONE not in text and PHONE[-4:] not in text
    assert "李四" not in text and ticketed.admission_b not in text


def test_ticket_pdf_embeds_noto_sans_cjk(app, client, login_as, ticketed, tmp_path):
    login_as(Role.UNIT_CONTACT, unit_id=ticketed.unit_a)
    response = client.get(_unit_url(ticketed))
    fonts = _run(["pdffonts"], response.data, tmp_path)
    rows = [line.split() for line in fonts.splitlines()[2:]]
    noto = [row for row in rows if re.search(r"Noto-?Sans-?CJK-?SC", row[0])]
    assert noto, fonts
    # Columns: name type encoding emb sub uni object ID; "emb" is the 4th from the end.
    assert all(row[-5] == "yes" for row in noto), fonts


def test_footer_numbers_pages_and_two_tickets_share_a_page(
    app, client, login_as, ticketed, tmp_path
):
    with app.app_context():
        event, unit = db.session.get(Event, ticketed.event_id), make_unit(name="佛山市技师学院")
        _register(event, unit, _member("赵六", _id("44060419950505456")))
        db.session.commit()
    login_as(Role.ORGANISER, competition_id=ticketed.competition_id)
    response = client.get(f"/events/{ticketed.event_id}/tickets.pdf")
    assert response.status_code == 200
    info = _run(["pdfinfo"], response.data, tmp_path)
    assert re.search(r"^Pages:\s+2$", info, re.M), info  # three tickets, two per page
    text = _flat(pdf_text(response.data, tmp_path))
    assert _flat(_text(app, "Page %(page)s of %(pages)s", page=1, pages=2)) in text
    assert _flat(_text(app, "Page %(page)s of %(pages)s", page=2, pages=2)) in text


def test_drawn_numbers_replace_the_placeholder(app, client, login_as, ticketed, tmp_path):
    with app.app_context():
        entry = db.session.get(Entry, ticketed.entry_a)
        entry.entry_number, entry.station_number, entry.session_no = "A017", "2-05", 2
        db.session.commit()
    login_as(Role.UNIT_CONTACT, unit_id=ticketed.unit_a)
    text = _flat(pdf_text(client.get(_unit_url(ticketed)).data, tmp_path))
    assert "A017" in text and "2-05" in text
    assert _flat(_text(app, "Session %(n)s", n=2)) in text
    assert _flat(_text(app, "To be announced after the draw")) not in text


def test_team_ticket_lists_every_member_lead_first(app, client, login_as, ticketed, tmp_path):
    with app.app_context():
        competition = db.session.get(Event, ticketed.event_id).competition
        team_event = _open_event(
            competition, code="T01", name="机器人系统集成", team_size=2, occupation="机器人应用"
        )
        unit_a = db.session.get(Unit, ticketed.unit_a)
        lead_id, second_id = _id("44010619930707567"), _id("44010619940808678")
        _register(
            team_event, unit_a, _member("陈大文", lead_id), _member("林小红", second_id, gender="F")
        )
        db.session.commit()
        team_event_id = team_event.id
    login_as(Role.UNIT_CONTACT, unit_id=ticketed.unit_a)
    response = client.get(f"/units/{ticketed.unit_a}/events/{team_event_id}/tickets.pdf")
    assert response.status_code == 200
    text = _flat(pdf_text(response.data, tmp_path))
    assert text.index("陈大文") < text.index("林小红")
    for number in (lead_id, second_id):
        assert f"{number[:4]}{'*' * 10}{number[-4:]}" in text
        assert number not in text


def test_photo_is_embedded_when_present(app, client, login_as, ticketed, tmp_path):
    login_as(Role.UNIT_CONTACT, unit_id=ticketed.unit_a)
    images = _run(["pdfimages", "-list"], client.get(_unit_url(ticketed)).data, tmp_path)
    assert len(images.splitlines()) == 2  # header lines only: a framed box, no image
    assert _flat(_text(app, "Photo")) in _flat(
        pdf_text(client.get(_unit_url(ticketed)).data, tmp_path)
    )
    with app.app_context():
        person = db.session.scalar(select(Person).where(Person.id_number == ID_A))
        person.photo, person.photo_type = _tiny_png(), "image/png"
        db.session.commit()
    images = _run(["pdfimages", "-list"], client.get(_unit_url(ticketed)).data, tmp_path)
    assert len(images.splitlines()) == 3  # header lines and the photo


def _tiny_png() -> bytes:
    """A 3×4 grey PNG, written by hand so the test needs nothing but the standard library."""
    width, height = 3, 4
    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


# ---------------------------------------------------------------- the QR code


def test_qr_codes_carry_the_public_token_url(app, client, login_as, ticketed, monkeypatch):
    """Each ticket's QR code is made from ``<host>/r/<token>`` and nothing else."""
    seen: list[str] = []
    real = tickets.qr_svg

    def recording(url: str) -> str:
        seen.append(url)
        return real(url)

    monkeypatch.setattr(tickets, "qr_svg", recording)
    login_as(Role.ORGANISER, competition_id=ticketed.competition_id)
    assert client.get(f"/events/{ticketed.event_id}/tickets.pdf").status_code == 200
    assert sorted(seen) == sorted(
        [f"http://localhost/r/{ticketed.token_a}", f"http://localhost/r/{ticketed.token_b}"]
    )
    for url, admission in zip(
        sorted(seen), sorted([ticketed.admission_a, ticketed.admission_b]), strict=True
    ):
        token = url.rsplit("/", 1)[1]
        assert len(token) >= 22  # ≥ 128 random bits in base64url
        assert admission not in url and ID_A not in url and ID_B not in url
        assert not re.search(rf"/{ticketed.entry_a}$|/{ticketed.entry_b}$", url)


def test_public_base_url_setting_is_used_for_qr(app, ticketed, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://results.example.cn/")
    with app.test_request_context("/"):
        html = tickets.ticket_html(
            [db.session.get(Entry, ticketed.entry_a)], base_url="https://results.example.cn/"
        )
    expected = qr.qr_svg(f"https://results.example.cn/r/{ticketed.token_a}")
    assert expected in html
    assert qr.qr_svg(f"https://results.example.cn/r/{ticketed.token_b}") not in html
    assert ID_A not in html and PHONE not in html


def test_qr_svg_draws_the_modules_of_the_url():
    url = "https://results.example.cn/r/Zq3x9Vb0kLmN4pQrStUvWxYz12AbCdEf"
    svg = qr.qr_svg(url)
    assert svg.startswith("<svg") and "href" not in svg and "<?xml" not in svg
    matrix = qr.qr_matrix(url)
    drawn = {tuple(map(int, m)) for m in re.findall(r"M(\d+) (\d+)h1v1h-1z", svg)}
    expected = {(x, y) for y, row in enumerate(matrix) for x, dark in enumerate(row) if dark}
    assert drawn == expected
    assert qr.qr_matrix(url + "x") != matrix


def test_qr_png_decodes_to_the_url():
    pyzbar = pytest.importorskip("pyzbar.pyzbar")
    from PIL import Image

    url = "https://results.example.cn/r/Zq3x9Vb0kLmN4pQrStUvWxYz12AbCdEf"
    decoded = pyzbar.decode(Image.open(BytesIO(qr.qr_png(url))))
    assert [d.data.decode() for d in decoded] == [url]


def test_qr_png_is_a_png_scaled_by_box_size():
    from PIL import Image

    url = "https://results.example.cn/r/Zq3x9Vb0kLmN4pQrStUvWxYz12AbCdEf"
    modules = len(qr.qr_matrix(url))
    small = Image.open(BytesIO(qr.qr_png(url, box_size=2)))
    large = Image.open(BytesIO(qr.qr_png(url)))
    assert small.format == "PNG"
    assert small.size == (2 * modules, 2 * modules)
    assert large.size == (8 * modules, 8 * modules)


@pytest.mark.parametrize(
    "url",
    [
        f"https://results.example.cn/r/{ID_A}",  # an 18-character ID number
        "https://results.example.cn/r/11010519491231002X",  # with the X check character
        "https://results.example.cn/r/110105491231002",  # a 15-digit legacy number
        f"https://results.example.cn/r/x?phone={PHONE}",  # a mobile number
        f"https://results.example.cn/c/{PHONE}/ticket",
    ],
)
def test_qr_refuses_urls_carrying_personal_numbers(url):
    with pytest.raises(ValueError):
        qr.qr_svg(url)
    with pytest.raises(ValueError):
        qr.qr_png(url)


def test_qr_accepts_token_and_admission_like_urls():
    assert qr.qr_svg("https://results.example.cn/r/2026000100001").startswith("<svg")
    assert qr.qr_png("http://127.0.0.1:8000/r/Zq3x9Vb0kLmN").startswith(b"\x89PNG")


# ---------------------------------------------------------------- who may print what


def test_organiser_downloads_every_approved_ticket_or_one_units(
    app, client, login_as, ticketed, tmp_path
):
    login_as(Role.ORGANISER, competition_id=ticketed.competition_id)
    everything = client.get(f"/events/{ticketed.event_id}/tickets.pdf")
    assert everything.status_code == 200
    assert f"tickets-{ticketed.event_code}.pdf" in everything.headers["Content-Disposition"]
    text = _flat(pdf_text(everything.data, tmp_path))
    assert "张三" in text and "李四" in text
    assert "王五" not in text  # another event, and not approved
    assert ID_A not in text and ID_B not in text

    one_unit = client.get(f"/events/{ticketed.event_id}/tickets.pdf?unit_id={ticketed.unit_b}")
    assert one_unit.status_code == 200
    text = _flat(pdf_text(one_unit.data, tmp_path))
    assert "李四" in text and "张三" not in text

    assert client.get(f"/events/{ticketed.event_id}/tickets.pdf?unit_id=999999").status_code == 404


def test_download_is_audited(app, client, login_as, ticketed):
    user_id = login_as(Role.UNIT_CONTACT, unit_id=ticketed.unit_a)
    assert client.get(_unit_url(ticketed)).status_code == 200
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "tickets.printed")
        ).all()
        assert len(rows) == 1
        assert rows[0].actor_id == user_id
        assert rows[0].event_id == ticketed.event_id
        assert rows[0].after["count"] == 1
        assert rows[0].after["unit_id"] == ticketed.unit_a


def test_unit_contact_cannot_download_another_units_tickets(client, login_as, ticketed):
    login_as(Role.UNIT_CONTACT, unit_id=ticketed.unit_a)
    assert client.get(_unit_url(ticketed, ticketed.unit_b)).status_code == 403
    assert client.get(f"/events/{ticketed.event_id}/tickets.pdf").status_code == 403


def test_unit_contact_gets_only_their_own_single_ticket(app, client, login_as, ticketed, tmp_path):
    login_as(Role.UNIT_CONTACT, unit_id=ticketed.unit_a)
    own = client.get(_entry_url(ticketed, ticketed.entry_a))
    assert own.status_code == 200
    assert ticketed.admission_a in own.headers["Content-Disposition"]
    assert "张三" in _flat(pdf_text(own.data, tmp_path))
    # Another unit's entry under one's own unit: not found; under that unit: forbidden.
    assert client.get(_entry_url(ticketed, ticketed.entry_b)).status_code == 404
    assert (
        client.get(_entry_url(ticketed, ticketed.entry_b, unit_id=ticketed.unit_b)).status_code
        == 403
    )
    # One's own entry named under another event: not found.
    assert (
        client.get(
            _entry_url(ticketed, ticketed.entry_a, event_id=ticketed.other_event_id)
        ).status_code
        == 404
    )


def test_anonymous_is_sent_to_sign_in(client, ticketed):
    response = client.get(_unit_url(ticketed))
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# ---------------------------------------------------------------- nothing to print


def test_nothing_printable_answers_409(app, client, login_as, ticketed):
    login_as(Role.UNIT_CONTACT, unit_id=ticketed.unit_a)
    # Unit A's only entry in the other event is submitted, not approved.
    response = client.get(f"/units/{ticketed.unit_a}/events/{ticketed.other_event_id}/tickets.pdf")
    assert response.status_code == 409
    assert _text(app, tickets.NOTHING_TO_PRINT) in response.get_data(as_text=True)
    single = client.get(
        _entry_url(ticketed, ticketed.entry_other, event_id=ticketed.other_event_id)
    )
    assert single.status_code == 409
    with app.app_context():
        assert not db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "tickets.printed")
        ).all()


def test_withdrawn_entry_gets_no_ticket(app, client, login_as, ticketed):
    with app.app_context():
        entry = db.session.get(Entry, ticketed.entry_a)
        services.withdraw_entry(None, entry, reason="伤病")
        db.session.commit()
    login_as(Role.UNIT_CONTACT, unit_id=ticketed.unit_a)
    assert client.get(_unit_url(ticketed)).status_code == 409
    assert client.get(_entry_url(ticketed, ticketed.entry_a)).status_code == 409


def test_ticket_pdf_refuses_entries_without_a_token(app, ticketed):
    with app.test_request_context("/"):
        entry = db.session.get(Entry, ticketed.entry_a)
        entry.qr_token = None
        with pytest.raises(Conflict):
            tickets.ticket_pdf([entry], base_url="https://results.example.cn")
        db.session.rollback()
