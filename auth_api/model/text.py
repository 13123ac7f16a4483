"""The one folding of text for comparison: stored addresses are keyed by it, the admin
listing's prefix is matched with it, and passwords are checked against common ones in it."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """NFKC, then case folding, then NFKC again (folding can undo normalisation): a
    fullwidth `a` (U+FF41), the ligature `fi` (U+FB01) and the letters they look like
    become one form."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
