"""Data for the organiser pages: a competition with a draft event, built and committed in a short
app context; tests act through the client (or a fresh app context) with the returned ids."""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select

from compete.blueprints.competitions import schemes
from compete.blueprints.competitions.scheme_excel import ParsedScheme
from compete.domain.aggregation import Aggregation
from compete.domain.scheme import AspectKind, CriterionSpec, ModuleSpec, SchemeSpec
from compete.extensions import db
from compete.models import Event

from ..factories import csrf_from, make_competition, make_event

D = Decimal


def scheme_spec(*, total_b: str = "40") -> SchemeSpec:
    """Two modules: A (40 + 20) and B (``total_b``); 100 in all by default."""
    return SchemeSpec(
        modules=(
            ModuleSpec(
                code="A",
                name="零件加工",
                criteria=(
                    CriterionSpec(code="A1", max_mark=D("40"), step=D("0.5"), judges=3),
                    CriterionSpec(
                        code="A2", max_mark=D("20"), step=D("1"), judges=3, tolerance=D("0.5")
                    ),
                ),
            ),
            ModuleSpec(
                code="B",
                name="职业素养",
                criteria=(
                    CriterionSpec(
                        code="B1",
                        max_mark=D(total_b),
                        step=D("0.5"),
                        kind=AspectKind.JUDGEMENT,
                        aggregation=Aggregation.TRIMMED_MEAN,
                        judges=5,
                    ),
                ),
            ),
        )
    )


def give_scheme(event: Event, spec: SchemeSpec | None = None) -> None:
    """Replace ``event``'s marking scheme with ``spec`` (a complete 100-mark one by default)."""
    parsed = ParsedScheme(
        spec=spec or scheme_spec(),
        descriptions={"A1": "尺寸精度"},
        double_entry=frozenset({"A2"}),
        module_names={},
    )
    schemes.replace_scheme(None, event, parsed)


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def field_error(html: str, name: str) -> str | None:
    """The error shown under the form field ``name`` (WTForms id or rules-form ``p-`` id)."""
    for ident in (name, f"p-{name}"):
        match = re.search(
            rf'id="{re.escape(ident)}"[^>]*>(?:(?!<div class="field|<tr).)*?'
            r'<p class="error" role="alert">([^<]+)</p>',
            html,
            re.S,
        )
        if match:
            return html_lib.unescape(match.group(1).strip())
    return None


def flashes(html: str) -> list[str]:
    return [m.strip() for m in re.findall(r'<p class="flash flash-\w+">([^<]*)</p>', html, re.S)]


@dataclass(frozen=True)
class Ids:
    competition: int
    event: int


@pytest.fixture
def draft_event(app) -> Ids:
    """A Guangdong 省级二类 competition with one draft employee-group event, no scheme yet."""
    with app.app_context():
        competition = make_competition(name="2026年广东省焊工职业技能竞赛", tier="provincial_2")
        event = make_event(competition, code="E01", name="焊工", occupation="焊工")
        db.session.commit()
        return Ids(competition.id, event.id)


@pytest.fixture
def ready_event(app, draft_event) -> Ids:
    """The draft event with a complete 100-mark scheme: ready to open registration."""
    with app.app_context():
        give_scheme(db.session.get(Event, draft_event.event))
        db.session.commit()
    return draft_event


@pytest.fixture
def csrf(client):
    """The signed-in user's CSRF token (one per session, valid for every form)."""

    def _token(path: str = "/") -> str:
        return csrf_from(client.get(path).get_data(as_text=True))

    return _token


class _FormReader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.values: dict[str, str] = {}
        self._select: str | None = None
        self._first_option: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("checkbox", "submit", "file"):
            self.values[name] = a.get("value") or ""
        elif tag == "select" and name:
            self._select, self._first_option = name, None
        elif tag == "option" and self._select:
            if self._first_option is None:
                self._first_option = a.get("value", "")
            if "selected" in a:
                self.values[self._select] = a.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.values[name] = ""

    def handle_endtag(self, tag):
        if tag == "select" and self._select:
            self.values.setdefault(self._select, self._first_option or "")
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea] += data


def form_values(html: str, action: str | None = None) -> dict[str, str]:
    """The values a browser would send with the form posting to ``action`` (None: the first
    form posting to its own page)."""
    start = html.index(f'action="{action}"' if action else '<form method="post" novalidate>')
    form = html[html.rindex("<form", 0, start) : html.index("</form>", start)]
    reader = _FormReader()
    reader.feed(form)
    return reader.values
