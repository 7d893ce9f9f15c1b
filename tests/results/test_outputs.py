"""The organisers' results list (Excel, PDF) and the publicity notice: what each shows, to whom,
and when — marking codes only before unsealing, ID numbers masked unless a personal-data holder
asks for the full list (audited), awards and tie-break notes from the stored rows, and the
notice only after publication, carrying the score chain head."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from decimal import Decimal
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from compete.domain.idnumber import mask_id_number
from compete.domain.lifecycle import EventState
from compete.extensions import db
from compete.models import AuditEntry, AwardGrant, EntryScore, Event, Person, Publication, Unit

from ..scenario import ranked_event

needs_poppler = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("pdftotext", "pdfinfo", "pdffonts")),
    reason="poppler-utils (make sysdeps) is not installed",
)

FINALS = [90, 85, 85, 70, 50]  # ranks 1, 2, 2, 4 and one below the pass mark (unranked)
HEAD = "ab" * 32


def _pdf_tool(tool: str, pdf: bytes, tmp_path, *args: str) -> str:
    path = tmp_path / f"doc-{tool}.pdf"
    path.write_bytes(pdf)
    command = [tool, *args, str(path)] + (["-"] if tool == "pdftotext" else [])
    return subprocess.run(command, capture_output=True, check=True, text=True).stdout


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _world(app, state=EventState.PUBLICITY, n=5, finals=FINALS, seed=2026):
    with app.app_context():
        s = ranked_event(n, finals=finals, state=state, people_seed=seed)
        people = [db.session.get(Person, pid) for pid in s.person_ids]
        units = [db.session.get(Unit, uid) for uid in s.unit_ids]
        s.extra = {
            "names": [p.name for p in people],
            "ids": [p.id_number for p in people],
            "phones": [p.phone for p in people],
            "units": [u.name for u in units],
        }
        db.session.commit()
        return s


def _sheet(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert response.headers["Cache-Control"] == "no-store"
    wb = load_workbook(BytesIO(response.data))
    ws = wb.worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    return wb, [dict(zip(header, row, strict=True)) for row in body]


def _all_cells(wb) -> str:
    return "\n".join(
        str(value)
        for ws in wb.worksheets
        for row in ws.iter_rows(values_only=True)
        for value in row
    )


def _exports(app):
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == "results.exported")
                .order_by(AuditEntry.id)
            )
        )


# ---------------------------------------------------------------- Excel


def test_excel_lists_ranks_names_units_and_scores_with_ids_masked(app, client, login_as):
    s = _world(app)
    login_as("organiser", competition_id=s.competition_id)
    client.set_cookie("lang", "en")
    wb, rows = _sheet(client.get(f"/events/{s.event_id}/results/export.xlsx"))

    assert [r["Rank"] for r in rows] == [1, 2, 2, 4, "unranked"]
    assert [r["Name"] for r in rows] == s.extra["names"]
    assert [r["Unit"] for r in rows] == s.extra["units"]
    assert [r["Entry no."] for r in rows] == ["001", "002", "003", "004", "005"]
    assert [r["Marking code"] for r in rows] == s.codes
    assert [r["ID number"] for r in rows] == [mask_id_number(i) for i in s.extra["ids"]]
    assert [r["Final score"] for r in rows] == FINALS
    assert [r["Module M1"] for r in rows] == FINALS
    assert [r["Practical"] for r in rows] == FINALS
    assert "Theory" not in rows[0]  # no theory score recorded: no empty column
    cells = _all_cells(wb)
    for full_id, phone in zip(s.extra["ids"], s.extra["phones"], strict=True):
        assert full_id not in cells
        assert phone not in cells
    (audit,) = _exports(app)
    assert audit.after == {"format": "xlsx", "full_ids": False, "sealed": False, "rows": 5}
    assert audit.event_id == s.event_id


def test_full_id_numbers_only_for_personal_data_holders_on_request_and_audited(
    app, client, login_as
):
    s = _world(app)
    login_as("organiser", competition_id=s.competition_id)
    client.set_cookie("lang", "en")
    _wb, rows = _sheet(client.get(f"/events/{s.event_id}/results/export.xlsx?full=1"))
    assert [r["ID number"] for r in rows] == s.extra["ids"]
    audit = _exports(app)[-1]
    assert audit.after["full_ids"] is True
    assert audit.actor_id is not None


def test_chief_judge_gets_masked_ids_and_cannot_ask_for_full_ones(app, client, login_as):
    s = _world(app)
    login_as("chief_judge", event_id=s.event_id)
    assert client.get(f"/events/{s.event_id}/results/export.xlsx?full=1").status_code == 403
    assert client.get(f"/events/{s.event_id}/results/export.pdf?full=1").status_code == 403
    client.set_cookie("lang", "en")
    _wb, rows = _sheet(client.get(f"/events/{s.event_id}/results/export.xlsx"))
    assert [r["ID number"] for r in rows] == [mask_id_number(i) for i in s.extra["ids"]]
    assert [a.after["full_ids"] for a in _exports(app)] == [False]


def test_people_without_results_access_get_nothing(app, client, login_as):
    s = _world(app)
    login_as("judge", event_id=s.event_id)
    assert client.get(f"/events/{s.event_id}/results/export.xlsx").status_code == 403
    assert client.get(f"/events/{s.event_id}/results/export.pdf").status_code == 403
    assert _exports(app) == []


def test_before_unsealing_the_list_shows_marking_codes_only(app, client, login_as):
    s = _world(app, state=EventState.SCORING_LOCKED)
    login_as("organiser", competition_id=s.competition_id)
    client.set_cookie("lang", "en")
    # Even a personal-data holder asking for the full list sees codes only.
    wb, rows = _sheet(client.get(f"/events/{s.event_id}/results/export.xlsx?full=1"))
    assert [r["Marking code"] for r in rows] == s.codes
    assert [r["Final score"] for r in rows] == FINALS
    assert not {"Name", "Unit", "Entry no.", "ID number"} & set(rows[0])
    cells = _all_cells(wb)
    for name, unit, id_number in zip(
        s.extra["names"], s.extra["units"], s.extra["ids"], strict=True
    ):
        assert name not in cells and unit not in cells
        assert id_number[-4:] not in cells
    assert _exports(app)[-1].after == {
        "format": "xlsx",
        "full_ids": False,
        "sealed": True,
        "rows": 5,
    }


def test_awards_and_tie_notes_come_from_the_stored_rows(app, client, login_as):
    s = _world(app)
    with app.app_context():
        rows = {
            r.entry_id: r
            for r in db.session.scalars(select(EntryScore).where(EntryScore.event_id == s.event_id))
        }
        third = rows[s.entry_ids[2]]
        third.tie_note = json.dumps({"key": "shared", "above": s.codes[1]})
        rows[s.entry_ids[0]].final = Decimal("91.25")  # stored, never recomputed
        for entry_id, award in zip(
            s.entry_ids, ["first", "second", "second", None, None], strict=True
        ):
            db.session.add(AwardGrant(event_id=s.event_id, entry_id=entry_id, award=award))
        # An earlier allocation no longer in force is not shown.
        db.session.add(
            AwardGrant(
                event_id=s.event_id, entry_id=s.entry_ids[3], award="third", is_current=False
            )
        )
        db.session.commit()
    login_as("organiser", competition_id=s.competition_id)
    client.set_cookie("lang", "en")
    _wb, rows = _sheet(client.get(f"/events/{s.event_id}/results/export.xlsx"))
    assert [r["Award"] for r in rows] == ["First prize", "Second prize", "Second prize", None, None]
    assert rows[0]["Final score"] == 91.25
    note = rows[2]["Tie-break"]
    # Once unsealed, the entry above is named by its entry number, not its marking code.
    assert "002" in note and s.codes[1] not in note
    assert rows[1]["Tie-break"] is None


def test_an_event_without_stored_results_exports_an_empty_list(app, client, login_as):
    with app.app_context():
        from ..factories import make_event

        event = make_event()
        db.session.commit()
        event_id, competition_id = event.id, event.competition_id
    login_as("organiser", competition_id=competition_id)
    _wb, rows = _sheet(client.get(f"/events/{event_id}/results/export.xlsx"))
    assert rows == []


# ---------------------------------------------------------------- PDF


@needs_poppler
def test_pdf_list_is_a4_landscape_in_noto_with_masked_ids(app, client, login_as, tmp_path):
    s = _world(app)
    login_as("organiser", competition_id=s.competition_id)
    response = client.get(f"/events/{s.event_id}/results/export.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    text = _flat(_pdf_tool("pdftotext", response.data, tmp_path, "-enc", "UTF-8"))
    for name, unit, id_number in zip(
        s.extra["names"], s.extra["units"], s.extra["ids"], strict=True
    ):
        assert name in text and unit in text
        assert mask_id_number(id_number) in text
        assert id_number not in text
    assert "90.00" in text and "85.00" in text
    info = _pdf_tool("pdfinfo", response.data, tmp_path)
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", info).groups())
    assert (round(width), round(height)) == (842, 595)  # A4 landscape, in points
    assert re.search(r"Noto-?Sans-?CJK-?SC", _pdf_tool("pdffonts", response.data, tmp_path))
    assert _exports(app)[-1].after["format"] == "pdf"


@needs_poppler
def test_pdf_full_list_and_sealed_list(app, client, login_as, tmp_path):
    s = _world(app)
    sealed = _world(app, state=EventState.SCORING_LOCKED, seed=7)
    login_as("admin")
    full = client.get(f"/events/{s.event_id}/results/export.pdf?full=1")
    text = _flat(_pdf_tool("pdftotext", full.data, tmp_path, "-enc", "UTF-8"))
    assert all(id_number in text for id_number in s.extra["ids"])
    codes_only = client.get(f"/events/{sealed.event_id}/results/export.pdf")
    text = _flat(_pdf_tool("pdftotext", codes_only.data, tmp_path, "-enc", "UTF-8"))
    assert all(code in text for code in sealed.codes)
    assert not any(name in text for name in sealed.extra["names"])
    assert [a.after["full_ids"] for a in _exports(app)] == [True, False]


# ---------------------------------------------------------------- publicity notice


def _set_head(app, s, head=HEAD, marks=137):
    with app.app_context():
        publication = db.session.get(Publication, s.publication_id)
        publication.chain_head, publication.marks_seq = head, marks
        db.session.get(Event, s.event_id).results_version += 1
        db.session.commit()


@pytest.mark.parametrize(
    "state", [EventState.SCORING_LOCKED, EventState.UNDER_REVIEW, EventState.CANCELLED]
)
def test_no_notice_before_publication(app, client, state):
    s = _world(app, state=state)
    for suffix in ("notice", "notice.pdf"):
        response = client.get(f"/events/{s.event_id}/results/{suffix}")
        assert response.status_code == 404
        body = response.get_data(as_text=True)
        assert not any(name in body for name in s.extra["names"])


def test_notice_page_has_window_appeal_deadline_list_and_chain_head(app, client):
    s = _world(app)
    _set_head(app, s)
    response = client.get(f"/events/{s.event_id}/results/notice")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'<code class="hash" id="chain-head">{HEAD}</code>' in html
    assert '<dd id="chain-length">137</dd>' in html
    assert "2026-12-20" in html and "2026-12-26" in html  # the publicity window
    assert 'data-appeal-deadline="2026-12-20T12:00:00+00:00"' in html
    assert 'data-state="publicity"' in html
    ranked = s.extra["names"][:4]
    assert all(name in html for name in ranked)
    assert s.extra["names"][4] not in html  # below the pass mark: not in the ranked list
    for id_number, phone in zip(s.extra["ids"], s.extra["phones"], strict=True):
        assert id_number not in html and mask_id_number(id_number) not in html
        assert phone not in html and phone[-4:] not in html


@needs_poppler
def test_notice_pdf_carries_the_chain_head_and_no_personal_numbers(app, client, tmp_path):
    s = _world(app, state=EventState.FINAL)
    _set_head(app, s)
    response = client.get(f"/events/{s.event_id}/results/notice.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    text = _flat(_pdf_tool("pdftotext", response.data, tmp_path, "-enc", "UTF-8"))
    assert HEAD in text
    assert "137" in text
    assert all(name in text for name in s.extra["names"][:4])
    assert all(unit in text for unit in s.extra["units"][:4])
    for id_number, phone in zip(s.extra["ids"], s.extra["phones"], strict=True):
        assert id_number not in text and mask_id_number(id_number) not in text
        assert phone not in text
    assert re.search(r"Noto-?Sans-?CJK-?SC", _pdf_tool("pdffonts", response.data, tmp_path))


# ---------------------------------------------------------------- links for organiser pages


def _links_html(app, user_id, event_id) -> str:
    from flask import g, render_template
    from flask_login import login_user

    from compete.models import User

    with app.test_request_context(f"/events/{event_id}/results/provisional"):
        event = db.session.get(Event, event_id)
        g.event, g.competition = event, event.competition
        if user_id is not None:
            login_user(db.session.get(User, user_id))
        return render_template("results/export_links.html", event=event)


def test_links_partial_offers_what_the_reader_may_open(app, login_as):
    published = _world(app)
    locked = _world(app, state=EventState.SCORING_LOCKED, seed=7)
    organiser = login_as("organiser", competition_id=published.competition_id)
    html = _links_html(app, organiser, published.event_id)
    for output in ("xlsx", "pdf", "xlsx-full", "notice", "notice-pdf", "public", "screen"):
        assert f'data-output="{output}"' in html
    assert f'href="/events/{published.event_id}/results/export.xlsx?full=1"' in html
    assert f'href="/events/{published.event_id}/results"' in html
    with app.app_context():
        from ..factories import make_user

        chief = make_user("chief_judge", event_id=locked.event_id)
        db.session.commit()
        chief_id = chief.id
    html = _links_html(app, chief_id, locked.event_id)
    assert 'data-output="xlsx"' in html and 'data-output="pdf"' in html
    for output in ("xlsx-full", "notice", "public"):
        assert f'data-output="{output}"' not in html  # no personal-data grant; not published
