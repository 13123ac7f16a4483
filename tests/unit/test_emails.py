"""Email normalisation: lookalike forms become one key; addresses mixing scripts in a
label are refused."""

from __future__ import annotations

import pytest

from auth_api.accounts.emails import email_key, login_key, new_account_email
from tests.support.lookalikes import CYRILLIC_A, CYRILLIC_COP, GREEK_ALPHA, fullwidth


@pytest.mark.parametrize(
    "variant",
    [
        "admin@example.com",
        "ADMIN@EXAMPLE.COM",
        fullwidth("admin") + "@example.com",
        fullwidth("a") + "dmin@example.com",
        "admin@" + fullwidth("example.com"),
        "admin" + fullwidth("@") + "example.com",
        fullwidth("ADMIN@EXAMPLE.COM"),
    ],
)
def test_compatibility_forms_and_case_give_one_key(variant: str) -> None:
    assert new_account_email(variant) == "admin@example.com"
    assert login_key(variant) == "admin@example.com"


def test_ligatures_and_case_folding_apply_to_the_local_part() -> None:
    assert email_key("\ufb01le@example.com") == "file@example.com"  # the ligature fi
    assert email_key("STRASSE@example.com") == email_key("stra\u00dfe@example.com")


@pytest.mark.parametrize(
    ("address", "label"),
    [
        (f"{CYRILLIC_A}dmin@example.com", f"{CYRILLIC_A}dmin"),
        (f"p{CYRILLIC_A}ypal.support@example.com", f"p{CYRILLIC_A}ypal"),
        (f"admin@ex{CYRILLIC_A}mple.com", f"ex{CYRILLIC_A}mple"),  # in the domain
        (f"{GREEK_ALPHA}dmin@example.com", f"{GREEK_ALPHA}dmin"),
    ],
)
def test_a_label_mixing_scripts_is_refused(address: str, label: str) -> None:
    with pytest.raises(ValueError, match=f"'{label}' mixes letters of different scripts"):
        new_account_email(address)


@pytest.mark.parametrize(
    "address",
    [
        f"{CYRILLIC_COP}@example.com",  # one script, even if it looks like Latin "cop"
        f"{CYRILLIC_COP}.smith@example.com",  # one script per label
        "\u5c71\u7530taro@example.jp",  # Han with Latin, as Japanese addresses are written
        "\u305f\u306a\u304b.taro@example.jp",  # Hiragana
        "user.42_x@example.com",  # digits and punctuation belong to no script
        "j\u00fcrgen@example.de",
    ],
)
def test_single_script_labels_and_cjk_with_latin_are_accepted(address: str) -> None:
    assert new_account_email(address) == email_key(address)


def test_login_never_raises_and_folds_what_it_cannot_parse() -> None:
    assert login_key("not an email") == "not an email"
    assert login_key(fullwidth("NOT AN EMAIL")) == "not an email"
