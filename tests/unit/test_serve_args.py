"""`python -m auth_api serve`: where it listens. The container image sets AUTH_HOST and
AUTH_PORT, and its HEALTHCHECK reads the same AUTH_PORT."""

from __future__ import annotations

import pytest

from auth_api.__main__ import parse_args


def test_serve_listens_on_loopback_8000_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUTH_HOST", raising=False)
    monkeypatch.delenv("AUTH_PORT", raising=False)
    args = parse_args(["serve"])
    assert (args.host, args.port) == ("127.0.0.1", 8000)


def test_serve_takes_its_address_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTH_HOST", "192.0.2.10")
    monkeypatch.setenv("AUTH_PORT", "18080")
    args = parse_args(["serve"])
    assert (args.host, args.port) == ("192.0.2.10", 18080)


def test_options_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTH_PORT", "18080")
    assert parse_args(["serve", "--port", "9000"]).port == 9000


def test_a_port_that_is_not_a_number_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AUTH_PORT", "eighty")
    with pytest.raises(SystemExit) as exited:
        parse_args(["serve"])
    assert exited.value.code == 2
    assert "invalid int value: 'eighty'" in capsys.readouterr().err
