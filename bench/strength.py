"""The cost of one password-strength estimate, without HTTP: `python -m bench.strength
[--rounds N]`. Times `estimate()` on passwords of the lengths people use and on the
costliest shapes we know for zxcvbn at its 72-character cap, and prints one line per
password: median and worst CPU milliseconds per call (the thread's own CPU time, which
other work on a busy machine does not inflate), and the median wall time."""

from __future__ import annotations

import argparse
import statistics
import time

from auth_api.passwords.strength import ESTIMATE_MAX_CHARS, estimate, personal_words

INPUTS = personal_words("ada.lovelace@example.com", "Ada Lovelace")
CAP = ESTIMATE_MAX_CHARS
PASSWORDS = {
    "12 chars, keyboard walk": "qwertyuiop12",
    "16 chars, random": "Xk9#vQ2m$Lp7&Wz4",
    "28 chars, four words": "correct horse battery staple",
    "40 chars, words": "correct horse battery staple plum orange",
    f"{CAP} chars, digits": ("1234567890" * 8)[:CAP],
    f"{CAP} chars, words": ("correct horse battery staple " * 3)[:CAP],
    f"{CAP} chars, one letter": "a" * CAP,
}


def milliseconds_per_call(password: str, rounds: int) -> tuple[list[float], list[float]]:
    """CPU and wall milliseconds of each of `rounds` estimates."""
    cpu, wall = [], []
    for _ in range(rounds):
        cpu_start, wall_start = time.thread_time(), time.perf_counter()
        estimate(password, INPUTS)
        cpu.append((time.thread_time() - cpu_start) * 1000)
        wall.append((time.perf_counter() - wall_start) * 1000)
    return cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    rounds = parser.parse_args().rounds
    estimate("warm up", INPUTS)
    for name, password in PASSWORDS.items():
        cpu, wall = milliseconds_per_call(password, rounds)
        print(
            f"{name:26} CPU median {statistics.median(cpu):6.2f} ms, max {max(cpu):6.2f} ms;"
            f" wall median {statistics.median(wall):6.2f} ms"
        )


if __name__ == "__main__":
    main()
