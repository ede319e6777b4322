"""`mlops-compass clock`: reads its settings, connects, and runs the clock (`bot.cli.clock`) until SIGTERM.

Kept apart from `bot.cli.clock` so that the CLI starts without importing the Slack and Redis clients.
"""

from __future__ import annotations

import argparse
import logging
import signal
from collections.abc import Callable
from types import FrameType
from typing import Any

log = logging.getLogger("bot.clock")


def add_clock_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "clock",
        help="run the clock: post due reminders and nudge unfinished assessments (the Procfile's clock)",
        description="Run the clock process. Settings come from the environment; see the README. "
        "Any number may run against one Redis: each reminder is posted once.",
    )
    parser.set_defaults(handler=run_clock_command)


def run_clock_command(args: argparse.Namespace, consoles: Any) -> int:
    from bot.cli.clock import Clock, ClockConfig
    from bot.cli.startup import start_slack_process
    from bot.settings import ClockSettings
    from bot.slack.reminders import ReminderSlack, clock_client
    from bot.store.nudges import SessionWatch
    from bot.store.schedules import ScheduleStore

    started = start_slack_process(ClockSettings)
    settings, client, catalog = started.settings, started.redis, started.catalog
    slack_client = clock_client(settings.slack_bot_token, settings.slack_api_url)
    # Team schedules open runs and overdue runs close with their report, exactly as in the web process:
    # the same flows, the channel's history and the worker's deliveries included.
    teams = started.flows(slack_client).team
    clock = Clock(
        schedules=ScheduleStore(client),
        watch=SessionWatch(client),
        slack=ReminderSlack(slack_client, catalog),
        catalog=catalog,
        team_runs=teams,
        jobs=[lambda now: teams.close_overdue(now, settings.clock_batch), _heartbeat(client)],
        config=ClockConfig(batch=settings.clock_batch),
    )

    def stop(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: stopping after the current delivery", signum)
        clock.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("clock started: a tick every %ss", settings.clock_tick_seconds)
    clock.run(settings.clock_tick_seconds)
    log.info("clock stopped")
    return 0


def _heartbeat(client: Any) -> Callable[[float], None]:
    """A clock job writing this process's heartbeat on every tick, which /health reads."""
    from bot.store.heartbeats import ClockHeartbeats, process_name

    heartbeats, name = ClockHeartbeats(client), process_name()
    return lambda now: heartbeats.beat(name, now)
