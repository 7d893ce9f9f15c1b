"""Every page a demo user can reach by following links opens without a server error."""

from __future__ import annotations

import re
from collections import deque

import pytest

from compete.demo import ACCOUNTS, load_demo
from compete.extensions import db

PASSWORD = "Demo-pass-2026"
LINK = re.compile(r'href="(/[^"#]*)"')
SKIP = ("/static/", "/logout", ".pdf", ".xlsx", ".jpg", "/tablet/sw.js")
LIMIT = 120


@pytest.fixture
def demo(app):
    with app.app_context():
        load_demo(password=PASSWORD)
        db.session.commit()


@pytest.mark.parametrize("username", [a[0] for a in ACCOUNTS])
def test_every_linked_page_opens(app, auth, demo, username):
    assert auth.login(username, PASSWORD).status_code == 302
    client = auth.client
    seen, queue, broken = set(), deque(["/"]), []
    while queue and len(seen) < LIMIT:
        path = queue.popleft()
        if path in seen or any(s in path for s in SKIP):
            continue
        seen.add(path)
        response = client.get(path)
        if response.status_code >= 500:
            broken.append((path, response.status_code))
            continue
        if response.mimetype == "text/html":
            for link in LINK.findall(response.get_data(as_text=True)):
                link = link.replace("&amp;", "&")
                if link not in seen:
                    queue.append(link)
    assert broken == []
    assert len(seen) > 3
