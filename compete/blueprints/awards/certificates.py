"""Certificates (获奖证书, 荣誉称号证书, 晋级证明): issue, number, render, revoke.

What gets a certificate, once the event's results are final:

- each member of an entry with a current award (优胜奖 included), kind ``award``; a flagged award
  (a tie at a band line) waits until the boundary decision is recorded;
- each *granted* title, kind ``title``; each *granted* promotion, kind ``promotion``. A proposed,
  declined or revoked grant gets nothing.

Issuing is idempotent: a grant that already has a certificate (valid or revoked) is skipped, and
so is an award a person already holds a valid certificate for after a reallocation that left it
unchanged. A revoked certificate stays revoked; issuing never undoes a revocation.

Numbers are ``certificate_number(prefix, year, seq)``: the prefix names the competition
(``C`` + its id, at least three digits), the year is the competition's, the sequence runs per
competition and year, and the last character is the MOD 37-2 check. Two issuers at the same
moment may pick the same next number: the unique constraint refuses the second insert, which
then takes the next free number (a savepoint per certificate keeps the rest of the batch).

Each certificate also has a random token (``new_token``, 192 bits) for its QR code, which
points at the public verification page ``<public base>/c/<token>``. The PDF is rendered in the
application's default language (an official document reads the same whoever downloads it).
"""

from __future__ import annotations

import re
import subprocess
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from flask import current_app, has_request_context, render_template, url_for
from flask_babel import force_locale, gettext, to_user_timezone
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ... import audit
from ...domain import N_
from ...domain.awards import AWARD_LABELS, Award
from ...domain.errors import Conflict, InvalidInput
from ...domain.grades import Grade, grade_label
from ...domain.people import mask_name
from ...domain.tokens import certificate_number, new_token, verify_certificate_number
from ...extensions import db
from ...models import (
    AwardGrant,
    Certificate,
    CertificateKind,
    CertificateStatus,
    Competition,
    Entry,
    Event,
    GrantStatus,
    Person,
    PromotionGrant,
    TitleGrant,
)
from ...pdf import html_to_pdf
from ...qr import qr_svg
from ..results.services import bump_results_version, is_final

SEQ_WIDTH = 6
NUMBER_RETRIES = 8
PNG_DPI = 150  # A4 landscape → 1754 × 1240 px: sharp on a phone, QR modules ≥ 4 px

NOT_FINAL = N_("Certificates are issued once the event's results are final.")
NUMBER_TAKEN = N_("No free certificate number could be found; please try again.")
REASON_NEEDED = N_("Give the reason for revoking the certificate.")
ALREADY_REVOKED = N_("This certificate is already revoked.")

# What an award certificate certifies (msgids; the stored wording, translated when shown).
AWARD_WORDING: dict[Award, str] = {award: AWARD_LABELS[award.value] for award in Award}
# Titles named by a preset code; any other stored title is printed as it is.
TITLE_WORDING: dict[str, str] = {
    "GD_TECH_EXPERT": N_("Guangdong Technical Expert"),
    "NATIONAL_TECH_EXPERT": N_("National Technical Expert"),
}
KIND_HEADINGS: dict[CertificateKind, str] = {
    CertificateKind.AWARD: N_("Award certificate"),
    CertificateKind.TITLE: N_("Title certificate"),
    CertificateKind.PROMOTION: N_("Promotion certificate"),
}
STATUS_LABELS: dict[CertificateStatus, str] = {
    CertificateStatus.VALID: N_("Valid"),
    CertificateStatus.REVOKED: N_("Revoked"),
}


# ---------------------------------------------------------------- numbers


def number_prefix(competition: Competition) -> str:
    """The competition's part of its certificate numbers: ``C`` and its id, e.g. ``C007``."""
    return f"C{competition.id:03d}"


def normalise_number(raw: str | None) -> str:
    """A typed number as stored: capitals, without spaces or dashes."""
    return re.sub(r"[\s\-]", "", raw or "").upper()


def _highest_seq(prefix: str, year: int) -> int:
    """The highest sequence number used so far for ``prefix`` and ``year`` (0 when none)."""
    head = f"{prefix}{year:04d}"
    length = len(head) + SEQ_WIDTH + 1
    highest = db.session.scalar(
        select(func.max(Certificate.number)).where(
            Certificate.number.like(head + "%"), func.length(Certificate.number) == length
        )
    )
    if not highest:
        return 0
    return int(highest[len(head) : len(head) + SEQ_WIDTH])


class _Numbers:
    """Hands out the next numbers of one competition and year within a batch."""

    def __init__(self, competition: Competition):
        self.prefix = number_prefix(competition)
        self.year = competition.year
        self.last = _highest_seq(self.prefix, self.year)

    def next(self) -> str:
        self.last += 1
        return certificate_number(self.prefix, self.year, self.last, width=SEQ_WIDTH)

    def resync(self) -> None:
        self.last = max(self.last, _highest_seq(self.prefix, self.year))


def _insert(certificate: Certificate, numbers: _Numbers) -> None:
    """Add ``certificate`` with the next free number; on a clash, take the next one."""
    for _attempt in range(NUMBER_RETRIES):
        certificate.number = numbers.next()
        certificate.token = new_token()
        try:
            with db.session.begin_nested():
                db.session.add(certificate)
                db.session.flush()
        except IntegrityError:
            numbers.resync()  # someone else issued numbers meanwhile
            continue
        return
    raise Conflict(NUMBER_TAKEN)


# ---------------------------------------------------------------- what to issue


@dataclass(frozen=True)
class Planned:
    """One certificate to issue."""

    kind: CertificateKind
    person: Person
    entry_id: int | None
    wording: str
    award_grant_id: int | None = None
    title_grant_id: int | None = None
    promotion_grant_id: int | None = None


@dataclass(frozen=True)
class Plan:
    planned: list[Planned]
    existing: int  # grants that already have their certificate
    waiting: int  # flagged awards without a boundary decision yet


def issuer_of(competition: Competition) -> str:
    """Who issues the certificates: the organiser (主办), else the host, else the competition."""
    return competition.organiser or competition.host or competition.name


def award_wording(award: Award | str) -> str:
    return AWARD_WORDING[Award(award)]


def title_wording(title: str) -> str:
    return TITLE_WORDING.get(title, title)


def promotion_wording(grant: PromotionGrant) -> str:
    return grade_label(Grade(grant.to_grade))


def _current_awards(event: Event) -> list[AwardGrant]:
    stmt = (
        select(AwardGrant)
        .where(
            AwardGrant.event_id == event.id,
            AwardGrant.is_current.is_(True),
            AwardGrant.award.is_not(None),
        )
        .options(selectinload(AwardGrant.entry).selectinload(Entry.members))
        .order_by(AwardGrant.rank, AwardGrant.entry_id)
    )
    return list(db.session.scalars(stmt))


def _granted(model, event: Event) -> list:
    stmt = (
        select(model)
        .where(model.event_id == event.id, model.status == GrantStatus.GRANTED)
        .order_by(model.id)
    )
    return list(db.session.scalars(stmt))


def event_certificates(event: Event, *, valid_only: bool = False) -> list[Certificate]:
    """The event's certificates by number."""
    stmt = (
        select(Certificate)
        .where(Certificate.event_id == event.id)
        .options(selectinload(Certificate.person))
        .order_by(Certificate.number)
    )
    if valid_only:
        stmt = stmt.where(Certificate.status == CertificateStatus.VALID)
    return list(db.session.scalars(stmt))


def plan_certificates(event: Event) -> Plan:
    """What issuing would add now, what already exists, and what waits for a decision."""
    certificates = event_certificates(event)
    by_award_grant = {(c.award_grant_id, c.person_id) for c in certificates if c.award_grant_id}
    valid_awards = {
        (c.person_id, c.wording)
        for c in certificates
        if c.kind is CertificateKind.AWARD and c.status is CertificateStatus.VALID
    }
    titles = {c.title_grant_id for c in certificates if c.title_grant_id}
    promotions = {c.promotion_grant_id for c in certificates if c.promotion_grant_id}
    planned: list[Planned] = []
    existing = waiting = 0
    for grant in _current_awards(event):
        if grant.flagged and not grant.decision_reason:
            waiting += 1
            continue
        wording = award_wording(grant.award)
        members = sorted(grant.entry.members, key=lambda m: (not m.is_lead, m.position))
        for member in members:
            key = (member.person_id, wording)
            if (grant.id, member.person_id) in by_award_grant or key in valid_awards:
                existing += 1
                continue
            valid_awards.add(key)
            planned.append(
                Planned(
                    CertificateKind.AWARD,
                    member.person,
                    grant.entry_id,
                    wording,
                    award_grant_id=grant.id,
                )
            )
    for grant in _granted(TitleGrant, event):
        if grant.id in titles:
            existing += 1
            continue
        planned.append(
            Planned(
                CertificateKind.TITLE,
                grant.person,
                grant.entry_id,
                title_wording(grant.title),
                title_grant_id=grant.id,
            )
        )
    for grant in _granted(PromotionGrant, event):
        if grant.id in promotions:
            existing += 1
            continue
        planned.append(
            Planned(
                CertificateKind.PROMOTION,
                grant.person,
                grant.entry_id,
                promotion_wording(grant),
                promotion_grant_id=grant.id,
            )
        )
    return Plan(planned=planned, existing=existing, waiting=waiting)


@dataclass(frozen=True)
class IssueReport:
    issued: list[Certificate]
    existing: int
    waiting: int


def issue_certificates(actor, event: Event, *, now: datetime) -> IssueReport:
    """Issue every certificate the event's final results call for and that is not issued yet.

    Conflict unless the results are final. Flushes and audits; the caller commits.
    """
    if not is_final(event):
        raise Conflict(NOT_FINAL)
    plan = plan_certificates(event)
    competition = event.competition
    numbers = _Numbers(competition)
    issuer = issuer_of(competition)
    issued = []
    for item in plan.planned:
        certificate = Certificate(
            kind=item.kind,
            person_id=item.person.id,
            event_id=event.id,
            entry_id=item.entry_id,
            award_grant_id=item.award_grant_id,
            title_grant_id=item.title_grant_id,
            promotion_grant_id=item.promotion_grant_id,
            wording=item.wording,
            issuer=issuer,
            status=CertificateStatus.VALID,
            issued_at=now,
            issued_by_id=getattr(actor, "id", None),
        )
        _insert(certificate, numbers)
        issued.append(certificate)
    if issued:
        bump_results_version(event)  # contestants' cached pages show the new certificate
        audit.record(
            actor,
            "certificates.issued",
            event,
            after={
                "count": len(issued),
                "numbers": [c.number for c in issued],
                "kinds": sorted({c.kind.value for c in issued}),
            },
            event_id=event.id,
            competition_id=event.competition_id,
        )
    return IssueReport(issued=issued, existing=plan.existing, waiting=plan.waiting)


def revoke_certificate(actor, certificate: Certificate, *, reason: str, now: datetime) -> None:
    """Revoke ``certificate`` with a reason; its verification page then says revoked."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(REASON_NEEDED, field="reason")
    if certificate.status is CertificateStatus.REVOKED:
        raise Conflict(ALREADY_REVOKED)
    certificate.status = CertificateStatus.REVOKED
    certificate.revoked_at = now
    certificate.revoked_reason = reason
    bump_results_version(db.session.get(Event, certificate.event_id))
    db.session.flush()
    audit.record(
        actor,
        "certificate.revoked",
        certificate,
        before={"status": CertificateStatus.VALID, "number": certificate.number},
        after={"status": CertificateStatus.REVOKED, "number": certificate.number},
        reason=reason,
        event_id=certificate.event_id,
        competition_id=db.session.get(Event, certificate.event_id).competition_id,
    )


# ---------------------------------------------------------------- look-ups


def by_token(token: str) -> Certificate | None:
    """The certificate of a QR token, or None (anything not token-shaped is None at once)."""
    if not token or len(token) > 64 or not re.fullmatch(r"[A-Za-z0-9_\-]+", token):
        return None
    return db.session.scalar(select(Certificate).where(Certificate.token == token))


class MistypedNumber(InvalidInput):
    """The check character does not match the rest: a character was mistyped."""


def by_number(raw: str) -> Certificate | None:
    """The certificate with this typed number; MistypedNumber when its check character fails."""
    number = normalise_number(raw)
    if not verify_certificate_number(number):
        raise MistypedNumber(
            N_(
                "%(number)s is not a valid certificate number: its last character does not "
                "match the others. Check each character and try again."
            ),
            field="number",
            number=number[:40],
        )
    return db.session.scalar(select(Certificate).where(Certificate.number == number))


def entry_certificates(entry: Entry) -> list[Certificate]:
    """The valid certificates of an entry's members (for the contestant's own page)."""
    stmt = (
        select(Certificate)
        .where(Certificate.entry_id == entry.id, Certificate.status == CertificateStatus.VALID)
        .order_by(Certificate.number)
    )
    return list(db.session.scalars(stmt))


# ---------------------------------------------------------------- what a certificate shows


def verification_url(base_url: str, token: str) -> str:
    """Where the QR code points: ``<base>/c/<token>``."""
    return f"{base_url.rstrip('/')}/c/{token}"


def _local_date(moment: datetime | None) -> date | None:
    return None if moment is None else to_user_timezone(moment).date()


def _occupation(certificate: Certificate, event: Event) -> str:
    if certificate.promotion_grant_id:
        grant = db.session.get(PromotionGrant, certificate.promotion_grant_id)
        if grant is not None and grant.occupation:
            return grant.occupation
    return event.occupation


def _unit_name(certificate: Certificate) -> str:
    if certificate.entry_id is None:
        return ""
    entry = db.session.get(Entry, certificate.entry_id)
    if entry is None:
        return ""
    member = next((m for m in entry.members if m.person_id == certificate.person_id), None)
    return (member.employer if member and member.employer else "") or entry.unit.name


@dataclass(frozen=True)
class CertificateView:
    """What a certificate shows, its wording already in the current language."""

    id: int
    number: str
    kind: str
    heading: str
    name: str
    masked_name: str
    unit: str
    competition: str
    event_code: str
    event_name: str
    occupation: str
    wording: str
    issuer: str
    issued_on: date | None
    status: str
    status_label: str
    revoked_on: date | None


def view_of(certificate: Certificate) -> CertificateView:
    event = db.session.get(Event, certificate.event_id)
    person = certificate.person
    return CertificateView(
        id=certificate.id,
        number=certificate.number,
        kind=certificate.kind.value,
        heading=gettext(KIND_HEADINGS[certificate.kind]),
        name=person.name,
        masked_name=mask_name(person.name),
        unit=_unit_name(certificate),
        competition=event.competition.name,
        event_code=event.code,
        event_name=event.name,
        occupation=_occupation(certificate, event),
        wording=gettext(certificate.wording),
        issuer=certificate.issuer,
        issued_on=_local_date(certificate.issued_at),
        status=certificate.status.value,
        status_label=gettext(STATUS_LABELS[certificate.status]),
        revoked_on=_local_date(certificate.revoked_at),
    )


def certificate_html(certificates: Sequence[Certificate], *, base_url: str) -> str:
    """One A4 landscape page per certificate, each with its QR code to the verification page."""
    pages = [
        (
            view_of(c),
            Markup(qr_svg(verification_url(base_url, c.token))),  # noqa: S704 (a checked URL)
        )
        for c in certificates
    ]
    return render_template("awards/certificate_pdf.html", pages=pages)


def certificate_pdf(certificates: Sequence[Certificate], *, base_url: str) -> bytes:
    """The PDF of ``certificates``, in the application's default language."""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        return html_to_pdf(certificate_html(certificates, base_url=base_url))


def pdf_to_png(pdf: bytes, *, dpi: int = PNG_DPI) -> bytes:
    """The first page of ``pdf`` as a PNG image (poppler's ``pdftoppm``)."""
    result = subprocess.run(  # noqa: S603 (fixed arguments, the PDF on stdin)
        ["pdftoppm", "-png", "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile", "-"],  # noqa: S607
        input=pdf,
        capture_output=True,
        check=True,
        timeout=60,
    )
    return result.stdout


def certificate_png(certificate: Certificate, *, base_url: str) -> bytes:
    """The certificate as an image, for browsers that block downloads (WeChat)."""
    return pdf_to_png(certificate_pdf([certificate], base_url=base_url))


def file_stem(certificate: Certificate) -> str:
    """A download name: the number (the name stays out of file names and logs)."""
    return f"certificate-{certificate.number}"


# ---------------------------------------------------------------- the batch job


def batch_dir() -> Path:
    """Where batch ZIPs are kept (``CERTIFICATE_BATCH_DIR``, else the instance folder).

    With several servers this must be a shared folder.
    """
    configured = current_app.config.get("CERTIFICATE_BATCH_DIR")
    folder = Path(configured) if configured else Path(current_app.instance_path) / "certificates"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def batch_path(job_id: str) -> Path:
    return batch_dir() / f"{job_id}.zip"


def _path_for(endpoint: str, **values) -> str:
    if has_request_context():
        return url_for(endpoint, **values)
    adapter = current_app.url_map.bind(
        "localhost", script_name=current_app.config.get("APPLICATION_ROOT") or "/"
    )
    return adapter.build(endpoint, values)


def build_batch(
    certificates: Iterable[Certificate],
    target: Path,
    *,
    base_url: str,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Write one PDF per certificate into a ZIP at ``target``; returns how many."""
    partial = target.with_suffix(".part")
    count = 0
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for certificate in certificates:
            archive.writestr(
                f"{file_stem(certificate)}.pdf", certificate_pdf([certificate], base_url=base_url)
            )
            count += 1
            if on_progress is not None:
                on_progress(count)
    partial.replace(target)
    return count


def _register_jobs() -> None:
    from ... import jobs
    from ...models import User
    from ...models.base import utcnow

    @jobs.job("certificates.issue")
    def issue_and_render(record, *, base_url: str, **_params):
        """Issue what is missing, then render every valid certificate of the event into a ZIP."""
        event = db.session.get(Event, record.event_id)
        if event is None:
            return {"count": 0}
        actor = db.session.get(User, record.created_by_id) if record.created_by_id else None
        report = issue_certificates(actor, event, now=utcnow())
        db.session.commit()
        certificates = event_certificates(event, valid_only=True)
        jobs.progress(record, 0, len(certificates))
        count = build_batch(
            certificates,
            batch_path(record.id),
            base_url=base_url,
            on_progress=lambda done: jobs.progress(record, done),
        )
        return {
            "download": _path_for("awards.certificate_batch", event_id=event.id, job_id=record.id),
            "issued": len(report.issued),
            "count": count,
            "waiting": report.waiting,
        }


_register_jobs()
