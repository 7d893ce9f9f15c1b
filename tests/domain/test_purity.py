"""compete/domain stays pure: standard library and the package itself, nothing else."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "compete" / "domain"
ALLOWED_PREFIX = "compete.domain"


def foreign_imports(source: str) -> list[str]:
    """Imported names that are neither standard library nor inside compete.domain."""
    bad = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 1:
                continue  # from . / from .module: inside the package
            if node.level > 1:
                bad.append("." * node.level + (node.module or ""))
                continue
            names = [node.module or ""]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            inside = name == ALLOWED_PREFIX or name.startswith(ALLOWED_PREFIX + ".")
            if not inside and top not in sys.stdlib_module_names:
                bad.append(name)
    return bad


def domain_modules() -> list[Path]:
    return sorted(DOMAIN.glob("*.py"))


def test_the_domain_package_has_modules():
    names = {path.stem for path in domain_modules()}
    assert {"aggregation", "scoring", "ranking", "awards", "idnumber"} <= names


@pytest.mark.parametrize("path", domain_modules(), ids=lambda path: path.name)
def test_domain_module_imports_only_stdlib_and_itself(path):
    assert foreign_imports(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "source",
    [
        "import flask",
        "from sqlalchemy import select",
        "from flask_babel import gettext",
        "from ..extensions import db",
        "from compete.models import Event",
        "import compete",
        "def f():\n    import werkzeug\n",
    ],
)
def test_checker_catches_foreign_imports(source):
    assert foreign_imports(source) != []


@pytest.mark.parametrize(
    "source",
    [
        "from __future__ import annotations",
        "import decimal, hashlib",
        "from datetime import date",
        "from . import N_",
        "from .errors import InvalidInput",
        "from compete.domain.errors import Conflict",
    ],
)
def test_checker_accepts_stdlib_and_package_imports(source):
    assert foreign_imports(source) == []


MY_MODULES = [
    "numbers",
    "aggregation",
    "scheme",
    "scoring",
    "ranking",
    "awards",
    "grades",
    "promotion",
    "titles",
    "selection",
    "review",
    "calendar",
    "draws",
    "lifecycle",
    "hashchain",
    "tokens",
    "idnumber",
    "people",
]


@pytest.mark.parametrize("name", MY_MODULES)
def test_every_public_rule_states_its_rule_in_a_docstring(name):
    tree = ast.parse((DOMAIN / f"{name}.py").read_text(encoding="utf-8"))
    assert ast.get_docstring(tree)
    missing = [
        node.name
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.ClassDef))
        and not node.name.startswith("_")
        and not ast.get_docstring(node)
    ]
    assert missing == []
