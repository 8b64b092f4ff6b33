"""Row ids (``tokens.new_id``): RFC 9562 UUIDv7, time-ordered so inserts append to the index."""

from __future__ import annotations

import time
import uuid

import pytest

from flask_passport.jose import tokens


def test_ids_are_version_7_uuids_carrying_the_time() -> None:
    before = time.time_ns() // 1_000_000
    value = tokens.new_id()
    after = time.time_ns() // 1_000_000
    parsed = uuid.UUID(value)
    assert str(parsed) == value  # canonical lowercase form, 36 characters
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
    assert before <= parsed.int >> 80 <= after


def test_later_ids_sort_after_earlier_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    """As strings too (how they are stored and indexed): the index only ever grows at its end."""
    now = [1_800_000_000_000_000_000]
    monkeypatch.setattr(tokens.time, "time_ns", lambda: now[0])
    earlier = [tokens.new_id() for _ in range(200)]
    now[0] += 1_000_000  # one millisecond later
    later = [tokens.new_id() for _ in range(200)]
    assert max(earlier) < min(later)


def test_ids_are_unique_and_unpredictable(monkeypatch: pytest.MonkeyPatch) -> None:
    # Even within one millisecond: 74 random bits per id.
    monkeypatch.setattr(tokens.time, "time_ns", lambda: 1_800_000_000_000_000_000)
    values = {tokens.new_id() for _ in range(50_000)}
    assert len(values) == 50_000
    ints = [uuid.UUID(v).int for v in values]
    # rand_a (12 bits after the version) and rand_b (62 bits after the variant) both vary.
    assert len({i >> 64 & 0xFFF for i in ints}) > 4000
    assert len({i & (1 << 62) - 1 for i in ints}) == 50_000
