"""Email normalisation: the one form used for uniqueness and lookups, and the refusal of
addresses built to look like someone else's."""

from __future__ import annotations

import unicodedata

from email_validator import EmailNotValidError, ValidatedEmail, validate_email

from auth_api.model.text import fold

# UTS #39's "highly restrictive" profile: a label uses letters of one script, or Latin
# with the scripts that Chinese, Japanese and Korean text mixes with it.
MIXABLE_SCRIPTS = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)
# Leading words of Unicode letter names that are not the name of their script.
NAME_WORD_SCRIPTS = {"CJK": "HAN", "IDEOGRAPHIC": "HAN", "KATAKANA-HIRAGANA": "KATAKANA"}
# Modifier letters (U+02B0 to U+02FF and others) are used across scripts.
SCRIPTLESS_NAME_WORDS = frozenset({"MODIFIER"})


def validated(email: str) -> ValidatedEmail:
    """The address checked, after NFKC, so the validator judges the form the key is made
    of; ValueError when it is not an email."""
    try:
        return validate_email(unicodedata.normalize("NFKC", email), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc


def key_of(address: ValidatedEmail) -> str:
    # Mail providers treat local parts case-insensitively in practice; so do we, because
    # two accounts differing only by case are a phishing and support hazard.
    return f"{fold(address.local_part)}@{address.ascii_domain.lower()}"


def email_key(email: str) -> str:
    """Case-folded NFKC local part and lower-cased IDNA domain; ValueError when not an
    email."""
    return key_of(validated(email))


def new_account_email(email: str) -> str:
    """The key of an address that may open an account: `email_key`, and ValueError when
    a label of it mixes scripts, as `paypal` with a Cyrillic `a` (U+0430) does: such an
    address would be another account that reads like someone else's."""
    address = validated(email)
    # The domain in its Unicode form: the ASCII one (xn--...) hides the scripts.
    labels = [*fold(address.local_part).split("."), *address.domain.split(".")]
    for label in labels:
        scripts = letter_scripts(label)
        if len(scripts) > 1 and not any(scripts <= allowed for allowed in MIXABLE_SCRIPTS):
            names = " and ".join(sorted(s.title() for s in scripts))
            raise ValueError(
                f"'{label}' mixes letters of different scripts ({names}), as addresses "
                "made to look like another do. Use one script in each part of the address."
            )
    return key_of(address)


def letter_scripts(label: str) -> set[str]:
    """The scripts of the letters in `label`, read from their Unicode names ("CYRILLIC
    SMALL LETTER A"); digits, punctuation and combining marks belong to none."""
    scripts = set()
    for char in label:
        if not unicodedata.category(char).startswith("L"):
            continue
        word = unicodedata.name(char, "UNKNOWN").split(" ", 1)[0]
        if word not in SCRIPTLESS_NAME_WORDS:
            scripts.add(NAME_WORD_SCRIPTS.get(word, word))
    return scripts


def login_key(email: str) -> str:
    """Best-effort normal form for login: never raises, so malformed input costs a hash."""
    try:
        return email_key(email)
    except ValueError:
        return fold(email.strip())
