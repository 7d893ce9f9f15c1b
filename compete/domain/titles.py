"""Honorary titles (技术能手) and labour-medal flags (§5).

A title is proposed ("拟") from the results and granted only after the HR department's
approval (核准). A person who already holds the title is not granted it again
("不再重复授予") but still counts as a holder for promotion rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from . import N_
from .awards import MEDALS, PRIZES, Award
from .errors import InvalidInput

EMPLOYEE_GROUP = "employee"
DEFAULT_TOP_N_BY_TEAM_SIZE: Mapping[int, int] = MappingProxyType({1: 5, 2: 3, 3: 2})


class TitleScope(StrEnum):
    """Who the title rule reaches."""

    PRIZE_WINNERS = "prize_winners"  # 一/二/三等奖 or gold/silver/bronze
    TOP_N = "top_n"  # rank ≤ n, n by team size (5/3/2)
    AWARD_HOLDERS = "award_holders"  # any award, 优胜奖 included
    SCORE_THRESHOLD = "score_threshold"  # ranked with final ≥ min_score


@dataclass(frozen=True)
class TitleRule:
    """A preset's title rule (§6 ``title``, ``title_scope``, ``title_top_n`` and guards)."""

    title: str
    scope: TitleScope = TitleScope.PRIZE_WINNERS
    top_n_by_team_size: Mapping[int, int] = field(
        default_factory=lambda: DEFAULT_TOP_N_BY_TEAM_SIZE
    )
    min_score: Decimal | None = None
    requires_employee: bool = True
    needs_approval: bool = True
    regrant: bool = False


@dataclass(frozen=True)
class TitleCandidate:
    """One person of an entry (each team member is a candidate of their own)."""

    entry_id: str
    person_id: str
    rank: int | None
    award: Award | None
    final: Decimal | None = None
    team_size: int = 1
    group: str = EMPLOYEE_GROUP
    is_employee: bool = True
    holds_title: bool = False


@dataclass(frozen=True)
class TitleProposal:
    """The outcome for one person.

    ``granted``: a new grant is proposed. ``provisional``: "拟" until approval. ``counts_as_holder``:
    meets the title condition for promotion rules (new grant, or held already and qualifying).
    """

    entry_id: str
    person_id: str
    granted: bool
    provisional: bool
    counts_as_holder: bool
    reason: str


def _in_scope(rule: TitleRule, candidate: TitleCandidate) -> bool:
    if candidate.rank is None:
        return False
    scope = TitleScope(rule.scope)
    if scope is TitleScope.PRIZE_WINNERS:
        return candidate.award in (*PRIZES, *MEDALS)
    if scope is TitleScope.AWARD_HOLDERS:
        return candidate.award is not None
    if scope is TitleScope.TOP_N:
        top_n = rule.top_n_by_team_size.get(candidate.team_size)
        if top_n is None:
            raise InvalidInput(
                N_("The title rule has no place count for teams of %(size)d."),
                field="title_top_n",
                size=candidate.team_size,
            )
        return candidate.rank <= top_n
    if rule.min_score is None:
        raise InvalidInput(N_("A score-threshold title needs a minimum score."), field="min_score")
    return candidate.final is not None and candidate.final >= rule.min_score


def propose_titles(rule: TitleRule, candidates: Sequence[TitleCandidate]) -> list[TitleProposal]:
    """Propose the title to every candidate in the rule's scope (§5.1, §5.3).

    - Out of scope (or unranked): not granted.
    - ``requires_employee``: non-employees are not granted (职工 status, CSC17).
    - ``regrant`` False and already a holder: not granted again, but still a holder.
    - Otherwise granted, provisional while ``needs_approval`` (拟, until 核准).
    """
    proposals = []
    for candidate in candidates:
        in_scope = _in_scope(rule, candidate)
        if not in_scope:
            proposal = (False, False, N_("Outside the title's scope."))
        elif rule.requires_employee and not candidate.is_employee:
            proposal = (False, False, N_("The title needs employee status."))
        elif candidate.holds_title and not rule.regrant:
            proposal = (False, True, N_("Already holds the title: not granted again."))
        else:
            proposal = (True, True, N_("Proposed for the title."))
        granted, holder, reason = proposal
        proposals.append(
            TitleProposal(
                entry_id=candidate.entry_id,
                person_id=candidate.person_id,
                granted=granted,
                provisional=granted and rule.needs_approval,
                counts_as_holder=holder,
                reason=reason,
            )
        )
    return proposals


@dataclass(frozen=True)
class LabourMedalFlag:
    """May this person apply for a May Day Labour Medal (五一劳动奖章), and from which year."""

    eligible: bool
    apply_from_year: int | None
    reason: str
    params: Mapping[str, object] = field(default_factory=dict)


def labour_medal_flag(
    *,
    rank: int | None,
    is_lead: bool,
    group: str,
    event_year: int,
    labour_medal_ranks: int = 1,
    lead_only: bool = True,
    employee_group: str = EMPLOYEE_GROUP,
    years_after: int = 1,
) -> LabourMedalFlag:
    """Flag applicants (§5.1): employee group, rank ≤ ``labour_medal_ranks`` (1st by default),
    the lead contestant of a pair or trio (``lead_only``); they may apply the year after
    (``years_after`` = 1, "次年"). ``labour_medal_ranks`` 0 turns the flag off.
    """
    if rank is None or rank > labour_medal_ranks:
        return LabourMedalFlag(False, None, N_("The rank does not qualify for the labour medal."))
    if group != employee_group:
        return LabourMedalFlag(
            False, None, N_("Only the employee group may apply for the labour medal.")
        )
    if lead_only and not is_lead:
        return LabourMedalFlag(
            False, None, N_("Only the lead contestant may apply for the labour medal.")
        )
    year = event_year + years_after
    return LabourMedalFlag(
        True, year, N_("May apply for the labour medal from %(year)d."), params={"year": year}
    )
