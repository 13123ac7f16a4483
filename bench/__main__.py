"""`python -m bench [--quick] [--workers N] [--only SCENARIO...]`: start what is needed,
run the scenarios, print the table and the targets, write .cache/bench/results.json."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from pymongo import MongoClient

from bench.conditions import describe, load_average
from bench.config import SCENARIOS, SELF_CONTAINED, BenchConfig, parse_args, plan_cores
from bench.report import (
    compute_ratios,
    near_cache_table,
    scenario_table,
    target_rows,
    target_table,
)
from bench.scenarios import Context, create_users, start_api, stop_api
from bench.scenarios import scenario_table as scenarios_of
from bench.servers import PrivateRedis, ensure_stack
from bench.wrk import ensure_wrk
from infra.stack_lib.api import REPO, Stack


def say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def run_scenarios(ctx: Context) -> None:
    runners = scenarios_of(ctx)
    for name in SCENARIOS:
        if name not in ctx.cfg.only:
            continue
        say(f"{name}...")
        for result in runners[name]():
            ctx.results[result.name] = result
            rate = f"{result.rps:,.1f}/s " if result.elapsed_s else ""  # none for probes
            say(f"{result.name}: {rate}p99 {result.p99_ms:.2f} ms, {result.errors} errors")


def drop_database(ctx: Context) -> None:
    mongo: MongoClient[dict[str, Any]]
    with MongoClient(ctx.urls["AUTH_MONGO_URL"], serverSelectionTimeoutMS=5000) as mongo:
        mongo.drop_database(ctx.mongo_db)


def run(cfg: BenchConfig) -> tuple[Context, dict[str, Any]]:
    if {"baseline", "me"} & set(cfg.only):
        ensure_wrk()  # before minutes are spent starting servers
    cores = plan_cores(cfg.workers)
    conditions = describe(cfg, cores, REPO)
    say(f"conditions: {cores.description}; {cfg.workers} worker(s); {cfg.duration_s:g}s runs")
    urls, started_here = ensure_stack()
    redis = PrivateRedis()
    redis.start()
    ctx = Context(cfg, cores, urls, redis)
    try:
        if not set(cfg.only) <= SELF_CONTAINED:
            start_api(ctx, relay=True, label="relay-on")
            create_users(ctx)
        run_scenarios(ctx)
    finally:
        stop_api(ctx)
        redis.stop()
        drop_database(ctx)
        ctx.users_file.unlink(missing_ok=True)
        if started_here:  # the same rule as the tests: stop only what this run started
            Stack().stop(*started_here)
    conditions |= {
        "load_average_after": load_average(),
        "servers": f"mongo and Kafka from infra/stack; a private Redis on port {redis.port}",
        "servers_started_by_this_run": started_here,
    }
    return ctx, conditions


def build_report(ctx: Context, conditions: dict[str, Any]) -> dict[str, Any]:
    ratios = compute_ratios(ctx.results)
    return {
        "conditions": conditions,
        "scenarios": {name: r.as_dict() for name, r in ctx.results.items()},
        "ratios": ratios,
        "targets": target_rows(ratios),
        "notes": [],  # kept for readers of earlier results files
        **{name: figures for name, (_, figures) in ctx.sections.items()},
    }


def render(ctx: Context, report: dict[str, Any]) -> str:
    results = list(ctx.results.values())
    conditions = "\n".join(f"  {k}: {v}" for k, v in report["conditions"].items())
    notes = [f"{r.name}: {note}" for r in results for note in r.notes]
    for name, label in (("redis_per_me", ""), ("redis_per_me_direct", ", near cache off")):
        if name in ctx.results:
            commands = ctx.results[name].extra["redis_commands"]
            notes.append(f"Redis commands during the counted /auth/me requests{label}: {commands}")
    near_cache = near_cache_table(ctx.results, report["ratios"])
    return "\n\n".join(
        [
            "Conditions:\n" + conditions,
            scenario_table(results),
            *(
                [f"/auth/me, near cache of the denylist on and off:\n{near_cache}"]
                if near_cache
                else []
            ),
            target_table(report["ratios"]),
            *(text for text, _ in ctx.sections.values()),
            "Notes:\n" + "\n".join(f"  - {n}" for n in notes or ["(none)"]),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    cfg = parse_args(sys.argv[1:] if argv is None else argv)
    started = time.monotonic()
    ctx, conditions = run(cfg)
    report = build_report(ctx, conditions)
    cfg.output.parent.mkdir(parents=True, exist_ok=True)
    cfg.output.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(render(ctx, report))
    say(f"done in {time.monotonic() - started:.0f}s; results in {cfg.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
