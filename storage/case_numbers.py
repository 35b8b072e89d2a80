"""Case numbers: short enough to read out and quote, random so they tell nothing, with a check.

A number is `TS-2026-K7M4QJ`: the year, five random characters and a check character, from an
alphabet without look-alikes. Sequential numbers (`TS-2026-000123`,
issued until 2026-11) said how many complaints had been filed that year and made the next one
guessable; they stay valid and are found as before. The check character catches any one
mistyped character and any two neighbours swapped: 29 symbols, a prime, weighted by position.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Callable, Sequence

# 29 symbols, a prime: digits 2-9 and the letters but I, L, O (taken for 1 and 0), U (for V)
# and Z (for 2).
ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXY"
RANDOM_LENGTH = 5
PREFIX = "TS"
_SYMBOLS = ALPHABET
NEW = re.compile(rf"{PREFIX}-(\d{{4}})-([{_SYMBOLS}]{{{RANDOM_LENGTH}}})([{_SYMBOLS}])")
OLD = re.compile(rf"{PREFIX}-\d{{4}}-\d{{6}}")
# Any case number as it appears in a text (tests and tools read numbers out of replies).
ANY = re.compile(rf"{PREFIX}-\d{{4}}-(?:\d{{6}}|[{_SYMBOLS}]{{{RANDOM_LENGTH + 1}}})")


def check_character(random_part: str) -> str:
    """Return the character that makes the position-weighted sum of all six a multiple of 29."""
    # Weighting the check character too (position 6) is what catches it swapped with its
    # neighbour: any change of one symbol, or of two neighbours, changes the sum by a non-zero
    # amount under 29, and 29 is prime.
    size = len(ALPHABET)
    total = sum(position * ALPHABET.index(symbol) for position, symbol in enumerate(random_part, 1))
    weight = len(random_part) + 1
    return ALPHABET[-total * pow(weight, -1, size) % size]


def new_number(year: int, choose: Callable[[Sequence[str]], str] = secrets.choice) -> str:
    """Return a fresh random case number of `year`, e.g. TS-2026-K7M4QJ."""
    while True:
        random_part = "".join(choose(ALPHABET) for _ in range(RANDOM_LENGTH))
        tail = random_part + check_character(random_part)
        if not tail.isdigit():  # six digits would read as an old sequential number
            return f"{PREFIX}-{year}-{tail}"


_INVISIBLE = re.compile("[\u200b-\u200d\u2060\ufeff]")


def normalise(text: str) -> str:
    """Return a typed case number the way it is stored: full-width folded, upper case."""
    return _INVISIBLE.sub("", unicodedata.normalize("NFKC", text)).strip().upper()


def well_formed(number: str) -> bool:
    """Return True for an old sequential number, or a new one whose check character matches."""
    if OLD.fullmatch(number):
        return True
    match = NEW.fullmatch(number)
    return match is not None and check_character(match[2]) == match[3]
