"""Every message has its Chinese translation with the same placeholders."""

from __future__ import annotations

import re

from babel.messages.pofile import read_po

from compete import ROOT

CATALOG = ROOT / "compete" / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _entries():
    with CATALOG.open("rb") as f:
        return [m for m in read_po(f) if m.id]


def test_every_message_is_translated_into_chinese():
    missing = []
    for m in _entries():
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        if not all(strings) or m.fuzzy:
            missing.append(m.id)
    assert missing == []


def test_translations_keep_the_placeholders():
    wrong = []
    for m in _entries():
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        names = set(PLACEHOLDER.findall(ids[-1]))
        for text in strings:
            if set(PLACEHOLDER.findall(text)) != names:
                wrong.append(m.id)
    assert wrong == []


def test_the_catalog_lists_every_message_in_the_code():
    """A message added to the code without `make translations-update` fails here."""
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "babel.messages.frontend",
                "extract",
                "-F",
                str(ROOT / "babel.cfg"),
                "-k",
                "_l",
                "-k",
                "N_",
                "-o",
                f"{tmp}/m.pot",
                "--no-location",
                str(ROOT),
            ],
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        with open(f"{tmp}/m.pot", "rb") as f:
            wanted = {m.id for m in read_po(f) if m.id}
    have = {m.id for m in _entries()}
    assert sorted(map(str, wanted - have)) == []
