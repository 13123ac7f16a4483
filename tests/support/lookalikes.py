"""Characters that look like ASCII, built from escapes: written out, they would hide in
the source as well as in an address (ruff's RUF001 refuses them there)."""

from __future__ import annotations

CYRILLIC_A = "\u0430"
CYRILLIC_COP = "\u0441\u043e\u0440"  # looks like Latin "cop"
GREEK_ALPHA = "\u03b1"
FULLWIDTH_OFFSET = 0xFEE0  # from "!" (U+0021) to its fullwidth form (U+FF01)


def fullwidth(text: str) -> str:
    """Printable ASCII as its fullwidth forms, U+FF01 to U+FF5E."""
    return "".join(chr(ord(c) + FULLWIDTH_OFFSET) if "!" <= c <= "~" else c for c in text)
