"""Mailed tokens expire: verification after 24 hours, a reset after 30 minutes, an email
change after 24 hours. Checked on a manual clock, through the container's services."""

from __future__ import annotations

import pytest

from auth_api.accounts.service import LoginAttempt, Registration
from auth_api.container import build_container
from auth_api.errors import InvalidToken
from auth_api.mail.mailer import MemoryMailer
from tests.support.clock import ManualClock
from tests.support.services import CLIENT_IP, PASSWORD
from tests.unit.test_container_clock import embedded_settings


def last_token(mailer: MemoryMailer) -> str:
    link = mailer.sent[-1].link
    assert link is not None
    return link.rpartition("token=")[2]


@pytest.mark.parametrize(("lifetime", "flow"), [(24 * 3600, "verify"), (30 * 60, "reset")])
async def test_a_token_works_until_its_lifetime_and_not_after(lifetime: int, flow: str) -> None:
    for elapsed, works in ((lifetime - 1, True), (lifetime, False)):
        clock = ManualClock()
        container = await build_container(embedded_settings(), clock=clock)
        try:
            services = container.services
            email = "ada@example.com"
            await services.accounts.register(Registration(email, PASSWORD, None), CLIENT_IP)
            if flow == "reset":
                await services.lifecycle.password.forgot(email, CLIENT_IP)
            await container.mail_relay.drain_once()
            assert isinstance(container.mailer, MemoryMailer)
            token = last_token(container.mailer)
            clock.advance(elapsed)
            attempt = (
                services.lifecycle.email.verify(token, CLIENT_IP)
                if flow == "verify"
                else services.lifecycle.password.reset(token, "a brand new passphrase", CLIENT_IP)
            )
            if works:
                await attempt
            else:
                with pytest.raises(InvalidToken):
                    await attempt
                await services.accounts.login(LoginAttempt(email, PASSWORD, CLIENT_IP))
        finally:
            await container.close()
