"""`mlops-compass clock`: reads its settings, connects, and runs the clock (`bot.usecases.clock`) until
SIGTERM.

The clock's modules are imported when the command runs, so that the CLI starts without importing the
Slack and Redis clients.
"""

from __future__ import annotations

import argparse
import logging
import signal
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.cli.startup import Started
    from bot.settings import ClockSettings
    from bot.usecases.clock import Clock

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
    from bot.cli.startup import start_slack_process
    from bot.settings import ClockSettings

    started = start_slack_process(ClockSettings)
    clock = build_clock(started)
    settings = started.settings

    def stop(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: stopping after the current delivery", signum)
        clock.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("clock started: a tick every %ss", settings.clock_tick_seconds)
    clock.run(settings.clock_tick_seconds)
    log.info("clock stopped")
    return 0


def build_clock(started: Started[ClockSettings]) -> Clock:
    """The clock as this command runs it, from the start-up kit: its reminders, its looks in on
    unfinished assessments, and its periodic jobs (closing overdue team runs, the heartbeat)."""
    from bot.slack.reminders import ReminderSlack, WorkspaceTeamRuns, clock_client
    from bot.store.nudges import SessionWatch
    from bot.store.schedules import ScheduleStore
    from bot.usecases.clock import Clock, ClockConfig

    settings, client, catalog = started.settings, started.redis, started.catalog
    workspaces = started.workspaces()
    slack_client = clock_client(
        workspaces.single_token, settings.slack_api_url, pauses=started.slack_pauses(refuse_while_paused=True)
    )
    # Team schedules open runs and overdue runs close with their report, exactly as in the web process:
    # the same flows, the channel's history and the worker's deliveries included. Each item calls Slack
    # with its own workspace's token; closing a run makes no call here (the worker posts its report).
    flows = started.flows(slack_client)
    teams = flows.team
    return Clock(
        schedules=ScheduleStore(client),
        watch=SessionWatch(client),
        chat=ReminderSlack(slack_client, catalog, workspaces),
        catalog=catalog,
        team_runs=WorkspaceTeamRuns(teams, workspaces),
        jobs=[
            lambda now: teams.close_overdue(now, settings.clock_batch),
            lambda now: flows.workshops.look_in(now, settings.clock_batch, workspaces),
            _heartbeat(client),
        ],
        config=ClockConfig(batch=settings.clock_batch),
    )


def _heartbeat(client: Any) -> Callable[[float], None]:
    """A clock job writing this process's heartbeat on every tick, which /health reads."""
    from bot.store.heartbeats import ClockHeartbeats, process_name

    heartbeats, name = ClockHeartbeats(client), process_name()
    return lambda now: heartbeats.beat(name, now)
