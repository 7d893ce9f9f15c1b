"""Selection chains (§2): the nomination list a final lower-tier event sends upstream.

"按本次省选拔赛名次顺序，组委会选派优秀选手" (GD-229). For each ``SelectionLink`` the places are
filled strictly in rank order from the stored results (``EntryScore``): only ranked entries (the
pass mark is respected), the next in rank order moving up past a contestant who declines or is
ineligible, and a shared rank at the cut left to the organiser's written decision.

Where the facts live (one place each, nothing new to store):

- A nominee is *pre-registered* when the upper event holds an entry whose ``source_entry_id``
  is the lower entry and whose status is live (submitted, returned or approved). Pre-registered
  entries take their places first; the remaining places go down the ranking.
- A nominee who *declines* is that upper entry ``WITHDRAWN``; one found *ineligible* is that
  entry ``REJECTED`` — with the reason in ``decision_reason``. Recording it before the
  pre-registration creates the upper entry already closed, so the upper organiser sees it too;
  the upper organiser rejecting a pre-registered entry counts the same way. Either way the next
  in rank order becomes nominable.
- A decision on a shared rank at the cut is an audit entry (``nomination.tie_decided`` on the
  link, with the tied and chosen entries and the written reason), repeated in the chosen
  entries' note.

Who may do it: the lower event's organiser (``EVENT_MANAGE`` there) nominates; no permission in
the upper competition is needed because the upper organiser keeps the decision: the entries
arrive ``SUBMITTED`` (awaiting review), a unit quota row is created only where the unit had none,
and every created row is audited under the upper competition as well.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from io import BytesIO

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as babel_gettext
from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import select

from ... import audit
from ...domain import N_
from ...domain.errors import Conflict, InvalidInput
from ...domain.idnumber import mask_id_number
from ...domain.lifecycle import EventState
from ...domain.ranking import RankedEntry
from ...domain.selection import select_upstream
from ...extensions import db
from ...models import (
    AuditEntry,
    AwardGrant,
    Entry,
    EntryMember,
    EntryScore,
    EntryStatus,
    Event,
    SelectionLink,
    UnitQuota,
)
from ..registration.services import ACTIVE, active_entry_count, default_quota


def _is_final(event: Event) -> bool:
    # Imported here: results.services pulls in the judging blueprint, which imports this package.
    from ..results.services import is_final

    return is_final(event)


def _stored_results(event: Event) -> list[EntryScore]:
    from ..results.services import stored_results

    return stored_results(event)


PREREGISTER_STATES = (EventState.DRAFT, EventState.REGISTRATION_OPEN)

# Stored in the upper entry's note, in the default language (data, not a screen).
NOTE_RESULT = N_("%(competition)s %(event)s: rank %(rank)s, final score %(final)s")
NOTE_TIE = N_("Chosen at a shared rank at the cut: %(reason)s")

TIE_DECIDED = "nomination.tie_decided"


class NomineeStatus(StrEnum):
    NOMINATED = "nominated"  # within the quota, to be pre-registered
    TIE = "tie"  # shares the rank at the cut: the organiser decides
    PREREGISTERED = "preregistered"  # a live entry in the upper event
    DECLINED = "declined"  # the upper entry is withdrawn
    INELIGIBLE = "ineligible"  # the upper entry is rejected
    NOT_SELECTED = "not_selected"  # ranked below the places
    BELOW_MINIMUM = "below_minimum"  # unranked: below the pass mark


# What the nomination list shows (the others are counted only).
LISTED = (
    NomineeStatus.PREREGISTERED,
    NomineeStatus.NOMINATED,
    NomineeStatus.TIE,
    NomineeStatus.DECLINED,
    NomineeStatus.INELIGIBLE,
)


@dataclass
class NominationRow:
    entry: Entry
    score: EntryScore
    status: NomineeStatus
    upstream: Entry | None = None
    reason: str | None = None  # why declined or ineligible
    award: str | None = None  # domain.awards.Award value of the current grant


@dataclass
class NominationList:
    link: SelectionLink
    final: bool  # the lower event's results are final
    rows: list[NominationRow] = field(default_factory=list)  # every scored entry, rank order
    places_left: int = 0
    tie_places: int = 0
    cut_rank: int | None = None
    decisions: list[AuditEntry] = field(default_factory=list)

    @property
    def listed(self) -> list[NominationRow]:
        return [row for row in self.rows if row.status in LISTED]

    def having(self, status: NomineeStatus) -> list[NominationRow]:
        return [row for row in self.rows if row.status is status]

    @property
    def counts(self) -> Counter:
        return Counter(row.status.value for row in self.rows)

    @property
    def open_for_preregistration(self) -> bool:
        return self.final and self.link.target_event.state in PREREGISTER_STATES


# ---------------------------------------------------------------- reading


def links_from(event: Event) -> list[SelectionLink]:
    return list(
        db.session.scalars(
            select(SelectionLink)
            .where(SelectionLink.source_event_id == event.id)
            .order_by(SelectionLink.id)
        )
    )


def link_of(event: Event, link_id: int) -> SelectionLink | None:
    link = db.session.get(SelectionLink, link_id)
    return link if link is not None and link.source_event_id == event.id else None


def _upstream_entries(link: SelectionLink) -> dict[int, Entry]:
    """The upper event's entries that came from this lower event: lower entry id → entry."""
    lower_ids = select(Entry.id).where(Entry.event_id == link.source_event_id)
    rows = db.session.scalars(
        select(Entry)
        .where(Entry.event_id == link.target_event_id, Entry.source_entry_id.in_(lower_ids))
        .order_by(Entry.id)
    )
    return {entry.source_entry_id: entry for entry in rows}


def _awards(event: Event) -> dict[int, str]:
    rows = db.session.execute(
        select(AwardGrant.entry_id, AwardGrant.award).where(
            AwardGrant.event_id == event.id, AwardGrant.is_current.is_(True)
        )
    )
    return {entry_id: award for entry_id, award in rows if award}


def tie_decisions(link: SelectionLink) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(
                AuditEntry.action == TIE_DECIDED,
                AuditEntry.target_type == "SelectionLink",
                AuditEntry.target_id == link.id,
            )
            .order_by(AuditEntry.id)
        )
    )


def _pass_mark(event: Event) -> Decimal | None:
    value = event.rules.get("pass_mark")
    return Decimal(str(value)) if value is not None else None


def nomination_list(link: SelectionLink) -> NominationList:
    """Each scored entry of the lower event with its standing for ``link``.

    Live upper entries (pre-registered) take places first; the rest of the quota is filled by
    ``select_upstream`` over the others in rank order, skipping the unranked, those declined
    (upper entry withdrawn) and those ineligible (upper entry rejected).
    """
    source = link.source_event
    result = NominationList(link=link, final=_is_final(source), decisions=tie_decisions(link))
    if not result.final:
        return result
    scores = _stored_results(source)
    entries = {
        entry.id: entry
        for entry in db.session.scalars(select(Entry).where(Entry.event_id == source.id))
    }
    upstream = _upstream_entries(link)
    live = {sid for sid, entry in upstream.items() if entry.status in ACTIVE}
    declined = {
        str(sid): entry.decision_reason or ""
        for sid, entry in upstream.items()
        if entry.status is EntryStatus.WITHDRAWN
    }
    ineligible = {
        str(sid): entry.decision_reason or ""
        for sid, entry in upstream.items()
        if entry.status is EntryStatus.REJECTED
    }
    result.places_left = max(0, link.quota - len(live))
    pass_mark = _pass_mark(source)
    others = [row for row in scores if row.entry_id not in live]
    selection = select_upstream(
        [RankedEntry(str(row.entry_id), row.rank) for row in others],
        quota=result.places_left,
        pass_mark=pass_mark,
        finals={str(row.entry_id): row.final for row in others},
        ineligible=ineligible,
        declined=declined.keys(),
    )
    nominated = set(selection.nominated)
    tied = set(selection.tie_at_cut)
    result.tie_places = selection.tie_places
    awards = _awards(source)
    for row in scores:
        key = str(row.entry_id)
        if row.entry_id in live:
            status = NomineeStatus.PREREGISTERED
        elif key in nominated:
            status = NomineeStatus.NOMINATED
        elif key in tied:
            status = NomineeStatus.TIE
            result.cut_rank = row.rank
        elif key in declined:
            status = NomineeStatus.DECLINED
        elif key in ineligible:
            status = NomineeStatus.INELIGIBLE
        elif row.rank is None or (pass_mark is not None and row.final < pass_mark):
            status = NomineeStatus.BELOW_MINIMUM
        else:
            status = NomineeStatus.NOT_SELECTED
        up = upstream.get(row.entry_id)
        result.rows.append(
            NominationRow(
                entry=entries[row.entry_id],
                score=row,
                status=status,
                upstream=up,
                reason=up.decision_reason if up is not None and up.status not in ACTIVE else None,
                award=awards.get(row.entry_id),
            )
        )
    return result


def source_result(entry: Entry) -> dict | None:
    """For an upper entry that came from a selection: where from, and the rank and score there."""
    if entry.source_entry_id is None:
        return None
    source = db.session.get(Entry, entry.source_entry_id)
    if source is None:
        return None
    score = db.session.scalar(
        select(EntryScore).where(
            EntryScore.event_id == source.event_id, EntryScore.entry_id == source.id
        )
    )
    event = source.event
    return {
        "competition": event.competition.name,
        "event": event.name,
        "rank": score.rank if score is not None else None,
        "final": score.final if score is not None else None,
    }


# ---------------------------------------------------------------- acting


def _check_open(link: SelectionLink) -> None:
    source, target = link.source_event, link.target_event
    if not _is_final(source):
        raise Conflict(
            N_("The results of %(event)s are not final yet; nominations wait for them."),
            event=source.name,
        )
    if target.state not in PREREGISTER_STATES:
        raise Conflict(
            N_(
                "%(event)s takes pre-registrations only while it is in draft or open for"
                " registration."
            ),
            event=target.name,
        )


def _person_taken(target: Event, entry: Entry) -> None:
    """Refuse when a member already has an entry in the upper event not made from this one."""
    person_ids = [m.person_id for m in entry.members]
    rows = db.session.execute(
        select(EntryMember.person_id, Entry.source_entry_id)
        .join(Entry, Entry.id == EntryMember.entry_id)
        .where(EntryMember.event_id == target.id, EntryMember.person_id.in_(person_ids))
    ).all()
    for person_id, source_id in rows:
        if source_id != entry.id:
            name = next(m.person.name for m in entry.members if m.person_id == person_id)
            raise Conflict(
                N_("%(name)s already has a registration in %(event)s."),
                name=name,
                event=target.name,
            )


def _note(row: NominationRow, reason: str | None) -> str:
    source = row.entry.event
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        text = babel_gettext(
            NOTE_RESULT,
            competition=source.competition.name,
            event=source.name,
            rank=row.score.rank,
            final=f"{row.score.final:.2f}",
        )
        if reason:
            text += "\n" + babel_gettext(NOTE_TIE, reason=reason)
    return text


def _upper_entry(
    actor, link: SelectionLink, row: NominationRow, *, status: EntryStatus, note: str
) -> Entry:
    """A copy of the lower entry in the upper event: same unit and members, linked back."""
    target = link.target_event
    _person_taken(target, row.entry)
    upper = Entry(
        event_id=target.id,
        unit_id=row.entry.unit_id,
        status=status,
        source_entry_id=row.entry.id,
        note=note,
        coaches=[],
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(upper)
    for member in row.entry.members:
        upper.members.append(
            EntryMember(
                event_id=target.id,
                person_id=member.person_id,
                person=member.person,
                position=member.position,
                is_lead=member.is_lead,
                current_grade=member.current_grade,
                grade_certificate_no=member.grade_certificate_no,
                employer=member.employer,
                declared_group=member.declared_group,
            )
        )
    db.session.flush()
    return upper


def _ensure_quota(actor, target: Event, unit, adding: int) -> None:
    """Room for ``adding`` more live entries of ``unit``; a missing quota row is created."""
    needed = active_entry_count(target, unit) + adding
    row = db.session.scalar(
        select(UnitQuota).where(UnitQuota.event_id == target.id, UnitQuota.unit_id == unit.id)
    )
    if row is None:
        row = UnitQuota(
            event_id=target.id, unit_id=unit.id, quota=max(default_quota(target), needed)
        )
        db.session.add(row)
        db.session.flush()
        audit.record(
            actor,
            "quota.set",
            row,
            after={"unit": unit.name, "quota": row.quota},
            reason="nomination",
            event_id=target.id,
            competition_id=target.competition_id,
        )
    elif row.quota < needed:
        raise Conflict(
            N_(
                "%(unit)s has a quota of %(quota)s in %(event)s, too few for its nominees;"
                " the organiser of %(event)s must raise it first."
            ),
            unit=unit.name,
            quota=row.quota,
            event=target.name,
        )


def preregister(
    actor,
    link: SelectionLink,
    *,
    now: datetime,
    chosen: list[int] | None = None,
    reason: str = "",
) -> list[Entry]:
    """Enter the nominees in the upper event as submitted registrations (idempotent).

    With a shared rank at the cut, ``chosen`` (lower entry ids, exactly as many as the places
    left) and a written ``reason`` are required; the decision is audited and written in the
    chosen entries' note. Returns the entries created (none when everyone is already in).
    """
    _check_open(link)
    listing = nomination_list(link)
    picked: list[NominationRow] = listing.having(NomineeStatus.NOMINATED)
    tie_rows = listing.having(NomineeStatus.TIE)
    reason = (reason or "").strip()
    chosen_rows: list[NominationRow] = []
    if tie_rows:
        if not chosen:
            raise InvalidInput(
                N_(
                    "%(n)s entries share rank %(rank)s for %(places)s place(s): choose who goes"
                    " and give a reason."
                ),
                field="chosen",
                n=len(tie_rows),
                rank=listing.cut_rank,
                places=listing.tie_places,
            )
        by_id = {row.entry.id: row for row in tie_rows}
        chosen_ids = list(dict.fromkeys(chosen))
        if any(i not in by_id for i in chosen_ids):
            raise InvalidInput(
                N_("Only entries sharing the rank at the cut can be chosen."), field="chosen"
            )
        if len(chosen_ids) != listing.tie_places:
            raise InvalidInput(
                N_("Choose exactly %(places)s of the entries sharing the rank at the cut."),
                field="chosen",
                places=listing.tie_places,
            )
        if not reason:
            raise InvalidInput(N_("A decision at the cut needs a written reason."), field="reason")
        chosen_rows = [by_id[i] for i in chosen_ids]
    target = link.target_event
    rows = sorted(picked + chosen_rows, key=lambda r: (r.score.rank or 0, r.entry.id))
    for unit_id, n in Counter(row.entry.unit_id for row in rows).items():
        unit = next(row.entry.unit for row in rows if row.entry.unit_id == unit_id)
        _ensure_quota(actor, target, unit, n)
    if chosen_rows:
        audit.record(
            actor,
            TIE_DECIDED,
            link,
            after={
                "rank": listing.cut_rank,
                "places": listing.tie_places,
                "tied": [row.entry.id for row in tie_rows],
                "chosen": [row.entry.id for row in chosen_rows],
                "target_event": target.id,
            },
            reason=reason,
            event_id=link.source_event_id,
            competition_id=link.source_event.competition_id,
        )
    chosen_set = {row.entry.id for row in chosen_rows}
    created = []
    for row in rows:
        upper = _upper_entry(
            actor,
            link,
            row,
            status=EntryStatus.SUBMITTED,
            note=_note(row, reason if row.entry.id in chosen_set else None),
        )
        audit.record(
            actor,
            "nomination.preregistered",
            upper,
            after={
                "source_entry": row.entry.id,
                "source_event": link.source_event_id,
                "rank": row.score.rank,
                "final": row.score.final,
                "unit": row.entry.unit.name,
                "members": [m.person_id for m in upper.members],
            },
            reason=reason if row.entry.id in chosen_set else None,
            competition_id=target.competition_id,
        )
        created.append(upper)
    if created:
        audit.record(
            actor,
            "nomination.batch",
            link,
            after={"created": [e.id for e in created], "target_event": target.id, "at": now},
            event_id=link.source_event_id,
            competition_id=link.source_event.competition_id,
        )
    return created


DECLINE_KINDS = {
    "declined": EntryStatus.WITHDRAWN,
    "ineligible": EntryStatus.REJECTED,
}


def decline(
    actor, link: SelectionLink, entry: Entry, *, kind: str, reason: str, now: datetime
) -> Entry:
    """Record that a ranked contestant declines the place or is ineligible upstream.

    The upper entry (created closed if there is none yet) carries the status and the reason;
    the next in rank order then becomes nominable.
    """
    if kind not in DECLINE_KINDS:
        raise InvalidInput(
            N_("Choose whether the contestant declines or is ineligible."), field="kind"
        )
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(N_("Please give a reason."), field="reason")
    if entry.event_id != link.source_event_id:
        raise InvalidInput(N_("This entry is not in the event."), field="entry")
    _check_open(link)
    listing = nomination_list(link)
    row = next((r for r in listing.rows if r.entry.id == entry.id), None)
    if row is None or row.status is NomineeStatus.BELOW_MINIMUM:
        raise Conflict(N_("Only a ranked contestant can be nominated, so only one can decline."))
    status = DECLINE_KINDS[kind]
    upper = row.upstream
    if upper is not None and upper.status not in ACTIVE:
        raise Conflict(N_("This contestant's place is already closed."))
    if upper is None:
        upper = _upper_entry(actor, link, row, status=status, note=_note(row, None))
        before = None
    else:
        before = {"status": upper.status}
        upper.status = status
    upper.decision_reason = reason
    upper.decided_at = now
    upper.decided_by_id = getattr(actor, "id", None)
    db.session.flush()
    audit.record(
        actor,
        f"nomination.{kind}",
        upper,
        before=before,
        after={"status": status, "source_entry": entry.id, "rank": row.score.rank},
        reason=reason,
        competition_id=link.target_event.competition_id,
    )
    return upper


# ---------------------------------------------------------------- Excel

HEADERS = ["序号", "名次", "姓名", "证件号码", "参赛单位", "成绩", "奖项", "状态", "说明"]
AWARD_NAMES = {
    "first": "一等奖",
    "second": "二等奖",
    "third": "三等奖",
    "merit": "优胜奖",
    "excellence": "优秀奖",
    "gold": "金牌",
    "silver": "银牌",
    "bronze": "铜牌",
    "medallion": "优胜奖",
}
STATUS_NAMES = {
    NomineeStatus.PREREGISTERED: "已预报名",
    NomineeStatus.NOMINATED: "拟推荐",
    NomineeStatus.TIE: "名次并列待决定",
    NomineeStatus.DECLINED: "放弃",
    NomineeStatus.INELIGIBLE: "不符合条件",
}


def nomination_workbook(listing: NominationList, *, full_ids: bool) -> bytes:
    """The nomination list: one row per person of each listed entry, in rank order."""
    target = listing.link.target_event
    wb = Workbook()
    ws = wb.active
    ws.title = "推荐名单"
    ws.append(HEADERS)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    number = 0
    for row in listing.listed:
        for member in row.entry.members:
            number += 1
            person = member.person
            ws.append(
                [
                    number,
                    row.score.rank,
                    person.name,
                    person.id_number if full_ids else mask_id_number(person.id_number),
                    row.entry.unit.name,
                    f"{row.score.final:.2f}",
                    AWARD_NAMES.get(row.award or "", row.award or ""),
                    STATUS_NAMES[row.status],
                    row.reason or "",
                ]
            )
    for column, width in zip("ABCDEFGHI", (6, 6, 12, 22, 28, 8, 8, 14, 30), strict=True):
        ws.column_dimensions[column].width = width
    for cells in ws.iter_rows(min_row=2, min_col=4, max_col=4):
        for cell in cells:
            cell.number_format = "@"
    about = wb.create_sheet("说明")
    source = listing.link.source_event
    for label, value in (
        ("选拔赛", f"{source.competition.name} {source.code} {source.name}"),
        ("推荐至", f"{target.competition.name} {target.code} {target.name}"),
        ("名额", listing.link.quota),
    ):
        about.append([label, value])
    about.column_dimensions["B"].width = 60
    out = BytesIO()
    wb.save(out)
    return out.getvalue()
