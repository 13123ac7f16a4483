"""Guessability: zxcvbn's estimate, fed with what the user told us about themselves."""

from __future__ import annotations

import asyncio
import threading

import pytest

from auth_api.passwords import strength
from auth_api.passwords.strength import (
    ESTIMATE_MAX_CHARS,
    Estimate,
    StrengthChecker,
    estimate,
    personal_words,
    strength_problems,
)
from tests.support.lookalikes import fullwidth

CAROL = personal_words("carol.jones@example.com", "Carol Jones")


@pytest.mark.parametrize("password", ["123456789012", "qwertyuiop123", fullwidth("qwertyuiop123")])
def test_guessable_passwords_score_below_three_and_say_why(password: str) -> None:
    result = estimate(password, CAROL)
    assert result.score < 3
    problems = strength_problems(result, min_score=3)
    assert problems[0].startswith("This password is too easy to guess")
    assert result.warning in problems[0]
    assert len(problems) >= 2, "a hint on how to fix it follows the reason"


@pytest.mark.parametrize(
    "password", ["correct horse battery staple", "all lowercase words here", "Tr0ub4dor&3"]
)
def test_unguessable_passwords_pass(password: str) -> None:
    assert strength_problems(estimate(password, CAROL), min_score=3) == []


def test_the_users_own_details_make_a_password_guessable() -> None:
    assert estimate("Carol Jones 84", []).score >= 3
    assert estimate("Carol Jones 84", CAROL).score < 3


def test_personal_words_cover_the_email_its_parts_and_the_display_name() -> None:
    words = personal_words("ada.lovelace+quiz@example.org", "Countess Ada")
    for expected in [
        "ada.lovelace+quiz",
        "lovelace",
        "quiz",
        "example",
        "Countess Ada",
        "Countess",
    ]:
        assert expected in words
    assert len(words) == len(set(words))


def test_a_too_strict_score_still_says_how_to_fix_it() -> None:
    # zxcvbn gives no feedback from score 3 up; a service asking for 4 still explains.
    problems = strength_problems(Estimate(3, "", ()), min_score=4)
    assert problems == [
        "This password is too easy to guess (strength 3 of 4; 4 is needed).",
        strength.FALLBACK_HINT,
    ]


def test_only_the_first_characters_are_estimated() -> None:
    weak_head = "a" * ESTIMATE_MAX_CHARS
    # Beyond zxcvbn's own cap (which raises), and judged by the head alone.
    assert estimate(weak_head + "K9v#qLz2@xW", []).score == estimate(weak_head, []).score
    assert estimate("correct horse battery staple " * 5, []).score == 4


async def test_estimates_run_on_their_own_thread_not_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    threads: list[str] = []

    def recording(password: str, inputs: list[str]) -> Estimate:
        threads.append(threading.current_thread().name)
        return estimate(password, inputs)

    monkeypatch.setattr(strength, "estimate", recording)
    checker = StrengthChecker(min_score=3)
    try:
        assert await checker.problems("qwertyuiop123", CAROL) != []
    finally:
        checker.close()
    assert threads
    assert threads[0].startswith("zxcvbn")
    assert threads[0] != threading.current_thread().name


async def test_concurrent_estimates_keep_their_own_user_inputs() -> None:
    """zxcvbn keeps the user inputs in a module-level dictionary while it runs: estimates
    running at once must not judge one password with another user's details."""
    names = ["Zephyrine Quill", "Octavia Brimble", "Florin Gastrell", "Wendeline Ashcombe"]
    inputs = [personal_words(f"user{n}@example.com", name) for n, name in enumerate(names)]
    # Each password repeats its user's name: refused with that user's details, accepted
    # with the next user's. A swap of inputs flips a verdict. Long, so that each estimate
    # lasts several of the interpreter's thread switches.
    cases = [
        (f"{name} " * 3, inputs[(n + shift) % len(names)], shift == 0)
        for n, name in enumerate(names)
        for shift in (0, 1)
    ] * 3
    checker = StrengthChecker(min_score=3)
    try:
        verdicts = await asyncio.gather(*(checker.problems(p, i) for p, i, _ in cases))
    finally:
        checker.close()
    assert [bool(v) for v in verdicts] == [refused for _, _, refused in cases]
