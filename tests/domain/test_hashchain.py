from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import date
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compete.domain.errors import InvalidInput
from compete.domain.hashchain import GENESIS, Link, append, canonical_json, link_hash, verify_chain


def test_canonical_json_is_sorted_compact_and_exact():
    payload = {"b": D("80.02"), "a": [1, "评分"], "when": date(2025, 6, 1)}
    assert canonical_json(payload) == '{"a":[1,"评分"],"b":"80.02","when":"2025-06-01"}'
    assert canonical_json({"x": 1, "y": 2}) == canonical_json({"y": 2, "x": 1})
    with pytest.raises(InvalidInput):
        canonical_json({"mark": 80.02})


def test_link_hash_is_sha256_of_prev_and_payload():
    expected = hashlib.sha256((GENESIS + '{"a":1}').encode()).hexdigest()
    assert link_hash(GENESIS, {"a": 1}) == expected
    assert GENESIS == "0" * 64


def chain(payloads):
    links: list[Link] = []
    for payload in payloads:
        links.append(append(links, payload))
    return links


def test_intact_chain_verifies():
    links = chain([{"n": i, "score": D(i) / 4} for i in range(6)])
    assert verify_chain(links) is None
    assert verify_chain([]) is None


def test_tampering_is_found_at_the_changed_record():
    links = chain([{"n": i} for i in range(6)])
    edited = list(links)
    edited[3] = replace(links[3], payload={"n": 99})
    assert verify_chain(edited) == 3
    removed = links[:2] + links[3:]
    assert verify_chain(removed) == 2
    swapped = [links[0], links[2], links[1], *links[3:]]
    assert verify_chain(swapped) == 1
    rehashed = list(links)
    rehashed[4] = Link({"n": 99}, link_hash(links[3].hash, {"n": 99}), links[3].hash)
    assert verify_chain(rehashed) == 5  # the forged record fits, the next no longer does


@given(
    st.lists(
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=3), min_size=1, max_size=8
    ),
    st.data(),
)
def test_any_single_payload_change_is_detected(payloads, data):
    links = chain(payloads)
    index = data.draw(st.integers(0, len(links) - 1))
    changed = list(links)
    changed[index] = replace(links[index], payload={"tampered": True, **links[index].payload})
    assert verify_chain(changed) == index
