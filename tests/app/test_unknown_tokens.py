"""The memory of unknown tokens: remembered briefly, bounded, forgettable."""

import time

import pytest

from app.unknown_tokens import UnknownTokens


def test_remembered_until_the_ttl_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    memo = UnknownTokens(ttl=10.0)
    now = time.monotonic()
    monkeypatch.setattr(time, "monotonic", lambda: now)
    memo.add("scr_a")
    assert "scr_a" in memo and "scr_b" not in memo
    monkeypatch.setattr(time, "monotonic", lambda: now + 11)
    assert "scr_a" not in memo


def test_bounded_and_forgettable() -> None:
    memo = UnknownTokens(max_entries=3)
    for i in range(3):
        memo.add(f"t{i}")
    memo.add("t3")  # full: cleared, then remembered
    assert "t3" in memo and "t0" not in memo
    memo.forget("t3")
    assert "t3" not in memo
