"""`mlops-compass-playground --schedule-demo`: a reminder schedule made in the fake workspace, and the clock
fast-forwarded to its first run, so a newcomer sees the reminder arrive and start an assessment.

The app runs as `serve` runs it, on a Redis that lives in this process (fakeredis served over TCP), so
the clock here reads the very schedules the app stored. The clock is the real one; only its idea of
"now" is moved forward to the schedule's first run.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
from fakeredis import TcpFakeServer
from rich.console import Console
from rich.panel import Panel

from bot.engine.catalog import BankCatalog
from bot.engine.schedule import from_timestamp, local_time_text
from bot.slack.reminders import ReminderSlack, clock_client
from bot.slack.schedule_blocks import START_FROM_REMINDER_ACTION
from bot.store.nudges import SessionWatch
from bot.store.schedules import ScheduleStore
from bot.usecases.clock import Clock
from playground.fakeslack import FakeSlack
from playground.fakeslack.app_process import AppProcess, app_process
from playground.fakeslack.workspace import HttpTransport, SlackUser
from playground.screen import EXIT_OK, EXIT_USAGE, render_message, render_mrkdwn

DEMO_ZONE = "Europe/Berlin"
SCHEDULE_COMMAND = "schedule quarterly"


@contextmanager
def in_process_redis_server() -> Iterator[str]:
    """A Redis (fakeredis) on a local port, for the app's process and this one to share."""
    server = TcpFakeServer(("127.0.0.1", 0), server_type="redis")
    # A handler thread can sit in a blocking command (the worker's BLPOP waits up to 405 s) long after its
    # client has gone; closing the server must not wait for it, and the process must not either.
    server.daemon_threads = True
    server.block_on_close = False
    thread = threading.Thread(target=server.serve_forever, name="fakeredis", daemon=True)
    thread.start()
    try:
        yield f"redis://127.0.0.1:{server.server_address[1]}/0"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def demo_app(fake: FakeSlack, signing_secret: str, redis_url: str, banks_dir: Path) -> Iterator[AppProcess]:
    env = {
        "BANKS_DIR": str(banks_dir),
        "SLACK_BOT_TOKEN": "xoxb-playground",
        "SLACK_SIGNING_SECRET": signing_secret,
        "SLACK_API_URL": fake.base_url,
        "REDIS_URL": redis_url,
        "WEB_CONCURRENCY": "1",
        "LOG_LEVEL": "WARNING",
    }
    with app_process(env) as app:
        yield app


def _reply_text(user: SlackUser, before: int) -> str:
    """What the app answered a command with (through its response_url)."""
    reply = user.fake.wait_for("response_url", lambda c: c.ok, after=before, timeout=15)
    return str(reply.params.get("text", ""))


def run_schedule_demo(console: Console, banks_dir: Path, channel: str) -> int:
    signing_secret = secrets.token_hex(16)
    with (
        FakeSlack() as fake,
        in_process_redis_server() as redis_url,
        demo_app(fake, signing_secret, redis_url, banks_dir) as app,
    ):
        user = SlackUser(
            fake, HttpTransport(app.events_url, signing_secret), user_name="you", channel_id=channel
        )
        fake.set_user(user.user_id, name=user.user_name, tz=DEMO_ZONE)
        fake.set_channel_name(channel, user.channel_name)

        console.print(
            Panel(f"You typed [bold]/mlops-compass {SCHEDULE_COMMAND}[/] in [bold]#general[/]", style="cyan")
        )
        before = len(fake.calls)
        if user.command(SCHEDULE_COMMAND).status != 200:
            console.print("The app refused the command.", style="red")
            return EXIT_USAGE
        console.print(
            Panel(
                render_mrkdwn(_reply_text(user, before), names=fake),
                title="#general",
                title_align="left",
                border_style="green",
            )
        )

        console.print(Panel("You typed [bold]/mlops-compass schedule list[/]", style="cyan"))
        before = len(fake.calls)
        user.command("schedule list")
        console.print(
            Panel(
                render_mrkdwn(_reply_text(user, before), names=fake),
                title="only you can see this",
                title_align="left",
                border_style="dim",
            )
        )

        client = redis.Redis.from_url(redis_url)
        schedules = ScheduleStore(client)
        [(record, next_run)] = schedules.in_channel(fake.team_id, channel)
        assert next_run is not None
        fast_forward = next_run + 1.0
        console.print(
            Panel(
                f"⏩ The clock jumps ahead to {local_time_text(from_timestamp(fast_forward), DEMO_ZONE)}, "
                "the schedule's first run, and ticks once.",
                style="yellow",
            )
        )
        catalog = BankCatalog.from_directory(banks_dir)
        clock = Clock(
            schedules=schedules,
            watch=SessionWatch(client),
            chat=ReminderSlack(clock_client("xoxb-playground", fake.base_url), catalog),
            catalog=catalog,
            now=lambda: fast_forward,
        )
        report = clock.tick()
        console.print(
            f"clock tick: {report.claimed} schedule claimed, {report.posted} reminder posted", style="dim"
        )
        reminder = fake.wait_for("chat.postMessage", lambda c: c.ok and c.params.get("channel") == channel)
        text, buttons = render_message(reminder.params, fake)
        console.print(
            Panel(text, title="#general · from the clock", title_align="left", border_style="green")
        )

        start = next(b for b in buttons if b.action_id == START_FROM_REMINDER_ACTION)
        console.print(f"→ You press {start.label}", style="bold")
        message = fake.messages(channel)[-1]
        user.click(message, start, channel_id=channel)
        fake.wait_for(
            "chat.postMessage", lambda c: c.ok and c.params.get("channel") == user.dm_channel, timeout=15
        )
        question = user.current_question()
        if question is not None:
            text, _ = render_message(question, fake)
            console.print(Panel(text, title="DM from MLOps Compass", title_align="left", border_style="blue"))
        again = clock.tick()
        following = local_time_text(
            from_timestamp(schedules.next_run(fake.team_id, record.schedule_id) or 0), DEMO_ZONE
        )
        console.print(
            f"The clock ticks again at the same moment: {again.posted} reminders posted. "
            f"The next run of `{record.schedule_id}` is {following}.",
            style="dim",
        )
    return EXIT_OK
