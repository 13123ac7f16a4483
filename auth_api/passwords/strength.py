"""How guessable a password is, estimated by zxcvbn: it scores a password 0 to 4 by the
guesses an attacker who knows common passwords, words, names, keyboard walks, dates,
sequences, repeats, l33t spellings and the user's own details would need."""

from __future__ import annotations

import asyncio
import re
import unicodedata
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from zxcvbn import zxcvbn

MAX_SCORE = 4
# zxcvbn's own cap. Its cost grows faster than the length (about 1 ms at 12 characters,
# tens of ms at 72), so only this prefix is estimated. A longer password is judged by its
# first 72 characters: adding characters only adds guesses, so a prefix that is strong
# enough makes the whole strong enough, and the password itself is never truncated.
ESTIMATE_MAX_CHARS = 72
# Words of this service that an attacker targeting it would try first.
SITE_WORDS = ("quizauth", "quiz")
FALLBACK_HINT = "Add another word or two. Uncommon words are better."
WORD_SEPARATORS = re.compile(r"[\s._+\-]+")


@dataclass(frozen=True)
class Estimate:
    score: int
    warning: str
    suggestions: tuple[str, ...]


def estimate(password: str, user_inputs: Sequence[str]) -> Estimate:
    # Judged as NFKC: a fullwidth "qwerty" is a keyboard walk to anyone who folds it.
    candidate = unicodedata.normalize("NFKC", password)[:ESTIMATE_MAX_CHARS]
    result = zxcvbn(
        candidate,
        user_inputs=[*user_inputs, *SITE_WORDS],
        max_length=ESTIMATE_MAX_CHARS,
    )
    feedback = result["feedback"]
    suggestions = tuple(str(s) for s in feedback["suggestions"])
    return Estimate(int(result["score"]), str(feedback["warning"]), suggestions)


def personal_words(email: str, display_name: str | None) -> list[str]:
    """What the user told us about themselves, which their password must not lean on:
    the email, its local part and that part's words, the domain's name, the display name
    and its words."""
    local, _, domain = email.partition("@")
    words = [email, local, *WORD_SEPARATORS.split(local), domain.split(".")[0]]
    if display_name:
        words += [display_name, *WORD_SEPARATORS.split(display_name)]
    return [word for word in dict.fromkeys(words) if word]


def strength_problems(result: Estimate, min_score: int) -> list[str]:
    """Why the password is refused and how to fix it, or nothing when it is strong enough."""
    if result.score >= min_score:
        return []
    why = f"This password is too easy to guess (strength {result.score} of {MAX_SCORE}; "
    why += f"{min_score} is needed)."
    if result.warning:
        why += f" {result.warning}"
    return [why, *(result.suggestions or (FALLBACK_HINT,))]


class StrengthChecker:
    """Estimates off the event loop, on one thread of its own: zxcvbn is pure Python and
    takes milliseconds to tens of milliseconds per call, and it keeps the user inputs in a
    module-level dictionary while it runs, so two estimates at once could swap inputs."""

    def __init__(self, min_score: int) -> None:
        self.min_score = min_score
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zxcvbn")

    async def problems(self, password: str, user_inputs: Sequence[str]) -> list[str]:
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(self._thread, estimate, password, user_inputs)
        return strength_problems(result, self.min_score)

    def close(self) -> None:
        self._thread.shutdown(wait=False, cancel_futures=True)
