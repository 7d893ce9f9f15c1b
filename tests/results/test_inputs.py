"""Theory scores and completion times: one by one and by file, corrections with a reason, range
checks, all-or-nothing imports with a row-by-row report, and the recompute that follows."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from compete.blueprints.results import inputs, services
from compete.domain.errors import Conflict, InvalidInput
from compete.domain.lifecycle import EventState
from compete.extensions import db
from compete.models import AuditEntry, Entry, EntryInput, Event, InputKind, Job, JobStatus, Role

from ..factories import csrf_from
from .test_recompute import SCHEME, add_mark, build_event

NOW = datetime(2026, 12, 27, 9, 0, tzinfo=UTC)


@pytest.fixture
def event3(app):
    """Three approved, coded entries (A…0001-3, R001-3, 001-3), fully marked by three judges
    (2, 3 and 4 on every criterion: practical 6, 9, 12), theory weight 0.30."""
    with app.app_context():
        built = build_event(modules=SCHEME, entries=3, judges=3, overrides={"pass_mark": "0"})
        event = db.session.get(Event, built.event_id)
        for n, entry_id in enumerate(built.entry_ids):
            for criterion_id in built.criteria.values():
                for judge_id in built.judge_ids:
                    add_mark(event, judge_id, entry_id, criterion_id, n + 2)
        admission = [db.session.get(Entry, e).admission_no for e in built.entry_ids]
        db.session.commit()
        return {
            "event_id": event.id,
            "competition_id": event.competition_id,
            "entries": built.entry_ids,
            "codes": built.codes,
            "admission": admission,
        }


def _values(app, event_id, kind=InputKind.THEORY):
    with app.app_context():
        rows = db.session.scalars(
            select(EntryInput)
            .where(EntryInput.event_id == event_id, EntryInput.kind == kind)
            .order_by(EntryInput.id)
        ).all()
        return [(row.entry_id, row.value, row.reason, row.source) for row in rows]


def _post(client, url, data):
    token = csrf_from(client.get(url.replace("/import", "")).get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token})


def _form(kind="admission_no", identifier="", theory="", time="", reason=""):
    return {
        "id_kind": kind,
        "identifier": identifier,
        "theory": theory,
        "time": time,
        "reason": reason,
    }


# ---------------------------------------------------------------- one by one


def test_an_organiser_records_a_theory_score_and_the_ranking_follows(app, client, login_as, event3):
    login_as(Role.ORGANISER, competition_id=event3["competition_id"])
    url = f"/events/{event3['event_id']}/results/inputs"
    response = _post(client, url, _form(identifier=event3["admission"][0], theory="82.5"))
    assert response.status_code == 302
    assert _values(app, event3["event_id"]) == [
        (event3["entries"][0], Decimal("82.50"), None, "form")
    ]
    with app.app_context():
        event = db.session.get(Event, event3["event_id"])
        job = services.last_recompute(event)
        assert job is not None and job.status is JobStatus.DONE
        rows = services.stored_results(event)
        # 0.3 × 82.5 + 0.7 × 6 = 24.75 + 4.2 = 28.95; the two others wait for their theory.
        assert [(r.entry_id, r.theory, r.final) for r in rows] == [
            (event3["entries"][0], Decimal("82.50"), Decimal("28.95"))
        ]
        audit = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "results.input_recorded")
        )
        assert audit.after["value"] == "82.50" and audit.event_id == event3["event_id"]
    page = client.get(url).get_data(as_text=True)
    assert f'data-code="{event3["codes"][0]}" data-theory="82.50" data-time=""' in page
    for number in event3["admission"]:
        assert number not in page  # listed by marking code only


def test_a_correction_needs_a_reason_and_keeps_the_earlier_figure(app, client, login_as, event3):
    login_as(Role.ORGANISER, competition_id=event3["competition_id"])
    url = f"/events/{event3['event_id']}/results/inputs"
    code = event3["codes"][1]
    assert _post(client, url, _form("review_code", code, theory="70")).status_code == 302
    refused = _post(client, url, _form("review_code", code, theory="72"))
    assert refused.status_code == 422
    assert 'aria-invalid="true"' in refused.get_data(as_text=True)
    assert len(_values(app, event3["event_id"])) == 1
    same = _post(client, url, _form("review_code", code, theory="70.00"))
    assert same.status_code == 302
    assert len(_values(app, event3["event_id"])) == 1  # equal to the figure in force
    fixed = _post(client, url, _form("review_code", code, theory="72", reason="阅卷复核加分"))
    assert fixed.status_code == 302
    entry = event3["entries"][1]
    assert _values(app, event3["event_id"]) == [
        (entry, Decimal("70.00"), None, "form"),
        (entry, Decimal("72.00"), "阅卷复核加分", "form"),
    ]


@pytest.mark.parametrize(
    ("theory", "time", "field"),
    [
        ("100.5", "", "theory"),
        ("-1", "", "theory"),
        ("82.555", "", "theory"),
        ("八十", "", "theory"),
        ("", "0", "time"),
        ("", "-5", "time"),
        ("", "1:75:00", "time"),
        ("", "", "theory"),  # nothing given
    ],
)
def test_out_of_range_figures_are_refused_on_the_field(
    app, client, login_as, event3, theory, time, field
):
    login_as(Role.ORGANISER, competition_id=event3["competition_id"])
    url = f"/events/{event3['event_id']}/results/inputs"
    response = _post(client, url, _form("entry_number", "002", theory=theory, time=time))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(rf'<input[^>]*aria-invalid="true"[^>]*id="{field}"', html)
    assert _values(app, event3["event_id"]) == []
    assert _values(app, event3["event_id"], InputKind.TIME) == []


def test_times_in_minutes_or_h_mm_ss(app, event3):
    assert inputs.parse_time("95.5") == Decimal("95.50")
    assert inputs.parse_time("1:35:30") == Decimal("95.50")
    assert inputs.parse_time("0:00:20") == Decimal("0.33")
    assert inputs.parse_time(45) == Decimal("45.00")
    assert inputs.parse_theory("100") == Decimal("100.00")
    assert inputs.parse_theory(0) == Decimal("0.00")
    with pytest.raises(InvalidInput):
        inputs.parse_theory(82.5 + 1e-9)


def test_an_unknown_identifier_is_refused(app, client, login_as, event3):
    login_as(Role.ORGANISER, competition_id=event3["competition_id"])
    url = f"/events/{event3['event_id']}/results/inputs"
    response = _post(client, url, _form("admission_no", "A9999999", theory="80"))
    assert response.status_code == 422
    assert "A9999999" in response.get_data(as_text=True)


def test_a_withdrawn_score_needs_a_reason_and_sends_the_entry_back_to_pending(app, event3):
    with app.app_context():
        event = db.session.get(Event, event3["event_id"])
        entry = db.session.get(Entry, event3["entries"][0])
        inputs.record_input(
            None, event, entry=entry, kind="theory", value=Decimal(80), reason=None, now=NOW
        )
        services.compute_results(event, now=NOW)
        with pytest.raises(InvalidInput, match="needs a reason"):
            inputs.record_input(
                None, event, entry=entry, kind="theory", value=None, reason=None, now=NOW
            )
        inputs.record_input(
            None, event, entry=entry, kind="theory", value=None, reason="试卷作废", now=NOW
        )
        assert services.compute_results(event, now=NOW) == []


def test_nothing_is_recorded_once_the_results_are_published(app, client, login_as, event3):
    with app.app_context():
        event = db.session.get(Event, event3["event_id"])
        event.state = EventState.PUBLICITY
        db.session.commit()
        entry = db.session.get(Entry, event3["entries"][0])
        with pytest.raises(Conflict):
            inputs.record_input(
                None, event, entry=entry, kind="theory", value=Decimal(80), reason=None, now=NOW
            )
    login_as(Role.ORGANISER, competition_id=event3["competition_id"])
    url = f"/events/{event3['event_id']}/results/inputs"
    page = client.get(url).get_data(as_text=True)
    assert 'id="input-form"' not in page and 'id="upload-form"' not in page
    token = csrf_from(client.get("/").get_data(as_text=True))
    response = client.post(
        url, data={**_form(identifier=event3["admission"][0], theory="80"), "csrf_token": token}
    )
    assert response.status_code == 409
    assert _values(app, event3["event_id"]) == []


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.JUDGE, 403), (Role.SUPERVISOR, 403), (Role.SCORE_RECORDER, 200)],
)
def test_the_score_recorder_records_figures_and_judges_do_not(
    app, client, login_as, event3, role, status
):
    login_as(role, event_id=event3["event_id"])
    assert client.get(f"/events/{event3['event_id']}/results/inputs").status_code == status


# ---------------------------------------------------------------- by file


def _xlsx(rows, headers=("准考证号", "评审号", "参赛号", "理论成绩", "用时（分钟）", "更正原因")):
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "成绩录入"
    sheet.append(list(headers))
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _upload(client, event_id, data, name="scores.xlsx"):
    url = f"/events/{event_id}/results/inputs"
    token = csrf_from(client.get(url).get_data(as_text=True))
    return client.post(
        f"{url}/import",
        data={"csrf_token": token, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_a_file_with_any_bad_row_imports_nothing_and_reports_every_problem(
    app, client, login_as, event3
):
    login_as(Role.ORGANISER, competition_id=event3["competition_id"])
    a1, _a2, a3 = event3["admission"]
    data = _xlsx(
        [
            (a1, None, None, 82.5, None, None),  # fine
            (None, "R002", None, 101, None, None),  # out of range
            (a3, "R003", None, 70, None, None),  # two identifiers
            ("A0000000", None, None, 60, None, None),  # unknown
            (None, None, "001", None, 0, None),  # time 0; entry 001 is a1's
            (a1, None, None, 83, None, None),  # a1 again
            (None, None, "002", None, None, None),  # nothing given
        ]
    )
    response = _upload(client, event3["event_id"], data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    for row, column in [
        (3, "理论成绩"),
        (4, "评审号"),
        (5, "准考证号"),
        (6, "用时（分钟）"),
        (7, "准考证号"),
        (8, ""),
    ]:
        assert f'data-row="{row}" data-column="{column}"' in html
    assert "A0000000" in html and "101" in html
    assert _values(app, event3["event_id"]) == []
    json_response = client.post(
        f"/events/{event3['event_id']}/results/inputs/import",
        data={
            "csrf_token": csrf_from(
                client.get(f"/events/{event3['event_id']}/results/inputs").get_data(as_text=True)
            ),
            "file": (io.BytesIO(data), "scores.xlsx"),
        },
        headers={"Accept": "application/json"},
        content_type="multipart/form-data",
    )
    problems = json_response.get_json()["problems"]
    assert [(p["row"], p["column"], p["value"]) for p in problems][:2] == [
        (3, "理论成绩", "101"),
        (4, "评审号", "R003"),
    ]


def test_a_good_file_imports_scores_and_times_by_any_identifier(app, client, login_as, event3):
    login_as(Role.ORGANISER, competition_id=event3["competition_id"])
    a1, _a2, _a3 = event3["admission"]
    data = _xlsx(
        [
            (a1, None, None, 82.5, "95.5", None),
            (None, "R002", None, "76", None, None),
            (None, None, "003", 90, "1:35:30", None),
        ]
    )
    assert _upload(client, event3["event_id"], data).status_code == 302
    e1, e2, e3 = event3["entries"]
    assert [(e, v, s) for e, v, _r, s in _values(app, event3["event_id"])] == [
        (e1, Decimal("82.50"), "file"),
        (e2, Decimal("76.00"), "file"),
        (e3, Decimal("90.00"), "file"),
    ]
    assert [(e, v) for e, v, _r, _s in _values(app, event3["event_id"], InputKind.TIME)] == [
        (e1, Decimal("95.50")),
        (e3, Decimal("95.50")),
    ]
    with app.app_context():
        event = db.session.get(Event, event3["event_id"])
        rows = {r.entry_id: r for r in services.stored_results(event)}
        # 0.3 × 90 + 0.7 × 12 = 35.40; 0.3 × 82.5 + 0.7 × 6 = 28.95; 0.3 × 76 + 0.7 × 9 = 29.10.
        assert [(rows[e].final, rows[e].rank) for e in (e3, e2, e1)] == [
            (Decimal("35.40"), 1),
            (Decimal("29.10"), 2),
            (Decimal("28.95"), 3),
        ]
        assert rows[e1].time == Decimal("95.50")
        imported = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "results.inputs_imported")
        )
        assert imported.after["recorded"] == 5
    # The same file again adds nothing; a changed score without a reason is refused.
    assert _upload(client, event3["event_id"], data).status_code == 302
    assert len(_values(app, event3["event_id"])) == 3
    changed = _xlsx([(a1, None, None, 84, None, None)])
    response = _upload(client, event3["event_id"], changed)
    assert response.status_code == 422
    assert 'data-row="2" data-column="理论成绩"' in response.get_data(as_text=True)
    with_reason = _xlsx([(a1, None, None, 84, None, "登分错误")])
    assert _upload(client, event3["event_id"], with_reason).status_code == 302
    assert _values(app, event3["event_id"])[-1] == (e1, Decimal("84.00"), "登分错误", "file")
    with app.app_context():
        assert (
            db.session.scalar(select(func.count(Job.id)).where(Job.kind == services.RECOMPUTE_JOB))
            == 2
        )  # the import that changed nothing started no recompute


def test_a_gbk_csv_with_english_headers_is_read(app, client, login_as, event3):
    login_as(Role.ORGANISER, competition_id=event3["competition_id"])
    text = "Marking code,Theory score,Reason\nR001,88,\nR002,61.5,补录\n"
    assert _upload(client, event3["event_id"], text.encode("gbk"), "scores.csv").status_code == 302
    e1, e2, _e3 = event3["entries"]
    assert [(e, v) for e, v, _r, _s in _values(app, event3["event_id"])] == [
        (e1, Decimal("88.00")),
        (e2, Decimal("61.50")),
    ]


def test_a_file_without_an_identifier_column_says_so(app, event3):
    with app.app_context():
        event = db.session.get(Event, event3["event_id"])
        with pytest.raises(inputs.InputsRejected) as refused:
            inputs.import_inputs(
                None,
                event,
                data=_xlsx([("张三", 80)], headers=("姓名", "理论成绩")),
                filename="x.xlsx",
                now=NOW,
            )
        assert refused.value.problems[0].message == inputs.NO_HEADER
        with pytest.raises(inputs.InputsRejected) as wrong_type:
            inputs.import_inputs(None, event, data=b"%PDF", filename="x.pdf", now=NOW)
        assert wrong_type.value.problems[0].message == inputs.FILE_TYPE


def test_the_template_has_the_columns_and_a_help_sheet(app, client, login_as, event3):
    login_as(Role.ORGANISER, competition_id=event3["competition_id"])
    response = client.get(f"/events/{event3['event_id']}/results/inputs-template.xlsx")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames == ["成绩录入", "说明"]
    headers = [cell.value for cell in workbook["成绩录入"][1]]
    assert headers == ["准考证号", "评审号", "参赛号", "理论成绩", "用时（分钟）", "更正原因"]
    assert workbook["成绩录入"]["A2"].number_format == "@"  # identifiers stay text
