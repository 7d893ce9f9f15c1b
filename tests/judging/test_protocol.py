"""The chief judge's score protocol (评分记录表): codes only, every mark, the chain checked."""

from __future__ import annotations

import re
import subprocess
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from compete.blueprints.judging import services
from compete.demo import load_demo
from compete.extensions import db
from compete.models import AuditEntry, Entry, Event, MarkEvent, User

NOW = datetime(2026, 12, 27, 9, 0, tzinfo=UTC)
PASSWORD = "Demo-pass-2026"


@pytest.fixture
def demo(app):
    """The demo (E01 in progress) with a few marks: judge1 and judge2 on the first code."""
    with app.app_context():
        load_demo(password=PASSWORD)
        db.session.commit()
        event = db.session.scalar(select(Event).where(Event.code == "E01"))
        code = None
        for name, values in (("judge1", ("5", "6", "7")), ("judge2", ("5.5", "6", "1"))):
            user = db.session.scalar(select(User).where(User.username == name))
            assignment = services.assignment_for(user, event)
            code = code or sorted(assignment.codes)[0]
            for criterion, value in zip(assignment.criteria, values, strict=False):
                mark = services.MarkInput(
                    client_id=str(uuid.uuid4()),
                    code=code,
                    criterion_id=criterion.id,
                    value=Decimal(value),
                    base=None,
                    entered_at=NOW,
                    reason=None,
                    device="test",
                )
                services.record_mark(user, event, mark, now=NOW)
        db.session.commit()
        assert event.mark_seq == 6
        return {"event_id": event.id, "code": code, "head": event.mark_head}


def _pdf_text(tmp_path, data: bytes) -> str:
    path = tmp_path / "protocol.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def _pdf_fonts(tmp_path, data: bytes) -> str:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdffonts", str(path)], capture_output=True, text=True, check=True
    ).stdout


def _identities(app, event_id: int) -> list[str]:
    """Names, unit names, entry/station/admission numbers of a sample of the entries."""
    with app.app_context():
        entries = db.session.scalars(
            select(Entry).where(Entry.event_id == event_id).order_by(Entry.id).limit(15)
        ).all()
        found = []
        for entry in entries:
            found.append(entry.unit.name)
            found += [m.person.name for m in entry.members]
            found += [
                n for n in (entry.entry_number, entry.station_number, entry.admission_no) if n
            ]
        assert any(entry.entry_number for entry in entries), "the demo should have drawn"
        return [s for s in found if s]


def _download(client, auth, demo, username="chief"):
    assert auth.login(username, PASSWORD).status_code == 302
    return client.get(f"/events/{demo['event_id']}/protocol.pdf")


def test_the_chief_judge_gets_a_protocol_with_codes_marks_and_the_chain_head(
    app, client, auth, demo, tmp_path
):
    response = _download(client, auth, demo)
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    text = _pdf_text(tmp_path, response.data)
    assert "评分记录表" in text
    assert demo["code"] in text
    assert demo["head"][:16] in text
    assert "完整" in text
    assert re.search(r"第\s*1\s*页\s*/\s*共\s*\d+\s*页", text)
    assert "裁判长" in text and "监督" in text
    with app.app_context():
        codes = db.session.scalars(
            select(services.ReviewCode.code).where(services.ReviewCode.event_id == demo["event_id"])
        ).all()
    assert len(codes) > 1 and all(code in text for code in codes)
    # judge1's marks on the first code, with seat labels
    assert "5.00" in text and "5.50" in text and "J1" in text and "J2" in text
    with app.app_context():
        audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "protocol.printed"))
        assert audit is not None and audit.after["chain_head"] == demo["head"]


def test_the_protocol_names_no_contestant_unit_or_entry_number(app, client, auth, demo, tmp_path):
    text = _pdf_text(tmp_path, _download(client, auth, demo).data)
    identities = _identities(app, demo["event_id"])
    assert identities
    words = set(re.findall(r"\S+", text))
    for identity in identities:
        assert identity not in text, identity
        assert identity not in words, identity


def test_the_protocol_embeds_noto_sans_cjk(client, auth, demo, tmp_path):
    fonts = _pdf_fonts(tmp_path, _download(client, auth, demo).data)
    lines = [line for line in fonts.splitlines() if "NotoSansCJK" in re.sub(r"[ -]", "", line)]
    assert lines, fonts
    assert all(" yes " in line for line in lines), fonts


def test_a_marking_judge_may_not_print_the_protocol(client, auth, demo):
    assert _download(client, auth, demo, username="judge1").status_code == 403


def test_a_tampered_mark_shows_the_broken_link(app, client, auth, demo, tmp_path):
    with app.app_context():
        db.session.execute(
            update(MarkEvent)
            .where(MarkEvent.event_id == demo["event_id"], MarkEvent.seq == 4)
            .values(value=Decimal("9"))
        )
        db.session.commit()
    text = _pdf_text(tmp_path, _download(client, auth, demo).data)
    assert "断裂" in text and "第 4 条" in text
    assert "完整" not in text


def test_a_supervisor_downloads_the_protocol_read_only(app, client, auth, demo, tmp_path):
    assert auth.login("supervisor", PASSWORD).status_code == 302
    event_id = demo["event_id"]
    response = client.get(f"/events/{event_id}/supervision/protocol.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert demo["head"][:16] in _pdf_text(tmp_path, response.data)
    # Read only: the chief judge's console and its actions stay closed to the supervisor.
    assert client.get(f"/events/{event_id}/console").status_code == 403
    assert client.get(f"/events/{event_id}/protocol.pdf").status_code == 403
    unseal_page = client.get(f"/events/{event_id}/unseal").get_data(as_text=True)
    assert f'href="/events/{event_id}/supervision/protocol.pdf"' in unseal_page
    with app.app_context():
        supervisor = db.session.scalar(select(User).where(User.username == "supervisor"))
        audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "protocol.printed"))
        assert audit.actor_id == supervisor.id
        assert db.session.get(Event, event_id).mark_seq == 6  # nothing changed


def test_judges_and_chief_judges_do_not_use_the_supervisors_copy(client, auth, demo):
    for username in ("judge1", "chief", "encrypt"):
        assert auth.login(username, PASSWORD).status_code == 302
        assert client.get(f"/events/{demo['event_id']}/supervision/protocol.pdf").status_code == 403
        auth.logout()


def test_the_console_links_to_the_protocol_and_the_unsealing(client, auth, demo):
    event_id = demo["event_id"]
    assert auth.login("chief", PASSWORD).status_code == 302
    console = client.get(f"/events/{event_id}/console").get_data(as_text=True)
    assert f'href="/events/{event_id}/protocol.pdf"' in console
    assert f'href="/events/{event_id}/unseal/status"' in console
    assert f'href="/events/{event_id}/pairing"' in console
    status = client.get(f"/events/{event_id}/unseal/status")
    assert status.status_code == 200
    html = status.get_data(as_text=True)
    # The chief judge sees the layers' state, never a form to open one nor the mapping.
    assert 'id="unseal-read-only"' in html
    assert 'name="layer"' not in html
    assert client.get(f"/events/{event_id}/unseal").status_code == 403
