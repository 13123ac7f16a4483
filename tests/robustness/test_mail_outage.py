"""An SMTP outage delays mail but never drops it: the request succeeds, the mail waits
in the user's document, and arrives once the server is back."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from auth_api.app import create_app
from auth_api.settings import Settings
from infra.stack_lib.api import PrivateServer
from tests.conftest import running
from tests.support.api import register, unique_email
from tests.support.mailbox import MailpitMailbox, wait_for_mail
from tests.support.polling import eventually

pytestmark = pytest.mark.integration


async def test_a_mail_requested_while_the_server_is_down_arrives_after_it_returns(
    real_settings: Callable[..., Settings], private_mail: PrivateServer
) -> None:
    mailbox = MailpitMailbox(private_mail.mail_api)
    app = create_app(real_settings(smtp_url=private_mail.url, kafka_bootstrap=None))
    async with running(app) as api:
        email = unique_email("outage")
        assert (await register(api, email)).status_code == 201
        await wait_for_mail(mailbox, email, "verify_email")
        relay = app.state.container.mail_relay
        outbox = app.state.container.backends.mail_outbox

        private_mail.stop()
        answer = await api.post("/auth/password/forgot", json={"email": email})
        assert answer.status_code == 202
        await eventually(lambda: relay.failed > 0, 20, "a delivery failing while it is down")
        assert await outbox.mail_backlog() == 1  # waiting in the user's document

        private_mail.start()
        mail = await wait_for_mail(mailbox, email, "password_reset", seconds=60)
        assert mail.route == "reset-password"
        assert await outbox.mail_backlog() == 0
        assert relay.expired == 0
