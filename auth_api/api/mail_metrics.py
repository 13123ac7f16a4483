"""The mail relay's counters on /metrics, read at scrape time like event delivery's."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from auth_api.mail.relay import MailRelay


class MailCollector(Collector):
    def __init__(self, relay: MailRelay) -> None:
        self._relay = relay

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "auth_mails_sent",
            "Mails the SMTP server accepted from this process's relay",
            value=self._relay.sent,
        )
        yield CounterMetricFamily(
            "auth_mail_send_failures",
            "Sends the SMTP server did not accept (the mail waits and is tried again)",
            value=self._relay.failed,
        )
        yield CounterMetricFamily(
            "auth_mails_expired",
            "Mails dropped unsent because their link or news expired first",
            value=self._relay.expired,
        )


def mail_exposition(relay: MailRelay) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MailCollector(relay))
    return generate_latest(registry)
