"""Command line: `python -m consumers quiz-profiles | tail`. Settings come from AUTH_*
variables (consumers/settings.py); options override the group and the metrics port."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from pydantic import ValidationError
from pymongo import AsyncMongoClient
from pymongo.errors import ConnectionFailure

from consumers.kafka import KafkaTransport
from consumers.processed import MongoProcessedEvents, prune_periodically
from consumers.quiz_profiles import COLLECTION, QuizProfiles
from consumers.runner import ConsumerRunner, RunnerConfig
from consumers.schemas import EventSchemas
from consumers.settings import ConsumerSettings
from consumers.tail import event_topics_pattern, tail

log = logging.getLogger("consumers")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m consumers")
    commands = parser.add_subparsers(dest="command", required=True)
    profiles = commands.add_parser("quiz-profiles", help="keep a player profile per user")
    profiles.add_argument("--group", help="consumer group (default AUTH_CONSUMER_GROUP)")
    profiles.add_argument("--metrics-port", type=int, help="serve Prometheus metrics here")
    profiles.add_argument("--metrics-host", default="0.0.0.0", help="address to serve them on")  # noqa: S104
    follow = commands.add_parser("tail", help="print events as they arrive, one JSON line each")
    follow.add_argument("topics", nargs="*", help="topic names (default: every auth event)")
    follow.add_argument("--from-beginning", action="store_true", help="start at the oldest")
    follow.add_argument("--limit", type=int, help="exit after printing this many")
    return parser.parse_args(argv)


@contextmanager
def stop_on_signals(stop: Callable[[], None]) -> Iterator[None]:
    """SIGTERM (orchestrators) and SIGINT (Ctrl-C) ask for a graceful stop."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    try:
        yield
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


async def run_quiz_profiles(settings: ConsumerSettings, args: argparse.Namespace) -> None:
    timeout_ms = int(settings.io_timeout_seconds * 1000)
    mongo: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        settings.mongo_url, tz_aware=True, timeoutMS=timeout_ms
    )
    stop_metrics: Callable[[], None] | None = None
    try:
        database = mongo[settings.consumer_mongo_db]
        processed = MongoProcessedEvents(database["processed_events"])
        await processed.setup()
        config = RunnerConfig(
            group_id=args.group or settings.consumer_group or "quiz-profiles",
            topic_prefix=settings.kafka_topic_prefix,
            max_attempts=settings.consumer_max_attempts,
            retry_backoff_seconds=settings.consumer_retry_backoff_seconds,
            poll_timeout_seconds=settings.consumer_poll_timeout_seconds,
            # MongoDB unreachable: the profile and the processed ids wait for it.
            unavailable=(ConnectionFailure,),
        )
        kafka = KafkaTransport(
            settings.kafka_bootstrap, settings.io_timeout_seconds, settings.topic_shape
        )
        handlers = QuizProfiles(database[COLLECTION]).handlers()
        runner = ConsumerRunner(config, handlers, processed, kafka)
        if args.metrics_port is not None:
            stop_metrics = runner.metrics.serve(args.metrics_port, args.metrics_host)
        stop_pruning = asyncio.Event()
        pruning = asyncio.create_task(
            prune_periodically(
                processed,
                keep=timedelta(hours=settings.consumer_processed_retention_hours),
                every_seconds=settings.consumer_prune_interval_seconds,
                stop=stop_pruning,
            )
        )
        try:
            with stop_on_signals(runner.stop):
                await runner.run()
        finally:
            stop_pruning.set()  # not cancel(): a driver call can lose a cancellation
            await pruning
    finally:
        if stop_metrics is not None:
            stop_metrics()
        await mongo.close()


async def run_tail(settings: ConsumerSettings, args: argparse.Namespace) -> None:
    pattern = None
    if not args.topics:
        types = EventSchemas().event_types
        pattern = event_topics_pattern(settings.kafka_topic_prefix, types)
    stop = asyncio.Event()
    with stop_on_signals(stop.set):
        await tail(
            settings.kafka_bootstrap,
            sys.stdout,
            stop,
            topics=args.topics,
            pattern=pattern,
            from_beginning=args.from_beginning,
            limit=args.limit,
        )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # Logs go to stderr: `tail` owns stdout.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = ConsumerSettings()
    except ValidationError as exc:
        print(f"invalid configuration:\n{exc}", file=sys.stderr)
        return 2
    command = run_quiz_profiles if args.command == "quiz-profiles" else run_tail
    try:
        asyncio.run(command(settings, args))
    except Exception:
        log.exception("%s stopped on an error", args.command)
        return 1
    log.info("%s stopped", args.command)  # the last line of a clean shutdown
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
