"""Checks a running MLOps Compass as Slack uses it, against a fake Slack that this script serves.

`.ci/compose-check` runs it as a service of the compose stack (deploy/compose.check.yaml), whose web,
worker and clock talk to the fake Slack it serves; it runs just as well beside `mlops-compass serve`,
`worker` and `clock` started by hand with SLACK_API_URL pointing at it. The fake Slack starts first, since
the web process checks its token against Slack as it starts. Then, once GET /health answers 200, a person
in the fake workspace:

1. sends a slash command signed with another secret, which the app refuses (401);
2. sends `/mlops-compass help`, signed with SLACK_SIGNING_SECRET, which the app answers with its help;
3. sends `/mlops-compass`, and the first question arrives in their DM (the web process, Redis, the Web API);
4. opens the app's Home tab, which the worker publishes.

Exits with 0 when all of that happened, and with 1 and what went wrong otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from playground.fakeslack import FakeSlack
from playground.fakeslack.app_process import health_status
from playground.fakeslack.workspace import Acknowledgement, HttpTransport, SlackUser

PASSED = "stack check passed"
HELP_LINE = "/mlops-compass help"
# How long each step after the first may take: the app answers in well under a second.
STEP_SECONDS = 30.0


class CheckFailed(Exception):
    pass


def wait_until_healthy(app_url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while (status := health_status(app_url)) != 200:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            answer = f"the last answer was {status}" if status else "nothing answered"
            raise CheckFailed(f"GET {app_url}/health did not answer 200 within {timeout:g}s: {answer}")
        time.sleep(min(0.5, remaining))


def acknowledged(what: str, answer: Acknowledgement) -> Acknowledgement:
    if answer.status != 200:
        raise CheckFailed(f"{what} was answered with {answer.status}, not 200: {answer.body[:300]!r}")
    return answer


def check_stack(app_url: str, fake: FakeSlack, signing_secret: str, team_id: str, timeout: float) -> None:
    """Raises CheckFailed with the first thing that did not happen."""
    events_url = f"{app_url}/slack/events"
    person = SlackUser(
        fake,
        HttpTransport(events_url, signing_secret),
        user_id="U0STACKCHECK",
        user_name="stack-check",
        channel_id="C0STACKCHECK",
        team_id=team_id,
    )
    wait_until_healthy(app_url, timeout)
    print(f"ok: GET {app_url}/health answered 200", flush=True)

    forger = SlackUser(fake, HttpTransport(events_url, f"not-{signing_secret}"), team_id=team_id)
    forged = forger.command("help")
    if forged.status != 401:
        raise CheckFailed(f"a command signed with another secret was answered with {forged.status}, not 401")
    print("ok: a command signed with another secret was refused (401)", flush=True)

    help_answer = acknowledged("/mlops-compass help", person.command("help"))
    if HELP_LINE not in help_answer.text:
        raise CheckFailed(f"/mlops-compass help was answered without the help: {help_answer.body[:300]!r}")
    print("ok: /mlops-compass help was answered with the help", flush=True)

    acknowledged("/mlops-compass", person.command(""))
    fake.wait_for(
        "chat.postMessage",
        lambda call: call.ok and call.params.get("channel") == person.dm_channel,
        STEP_SECONDS,
    )
    if person.current_question() is None:
        raise CheckFailed("/mlops-compass posted to the DM, but no question")
    print("ok: /mlops-compass sent the first question to the DM", flush=True)

    acknowledged("app_home_opened", person.open_app_home())
    fake.wait_for(
        "views.publish", lambda call: call.ok and call.params.get("user_id") == person.user_id, STEP_SECONDS
    )
    print("ok: the worker published the Home tab", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--app-url", required=True, help="the web process, e.g. http://web:3000")
    parser.add_argument("--fake-slack-host", default="127.0.0.1", help="where the fake Slack listens")
    parser.add_argument("--fake-slack-port", type=int, default=3001)
    parser.add_argument("--team-id", default="T0001", help="the fake workspace's id")
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="seconds to wait for GET /health to answer 200"
    )
    args = parser.parse_args(argv)
    signing_secret = os.environ.get("SLACK_SIGNING_SECRET")
    if not signing_secret:
        print("check_stack: SLACK_SIGNING_SECRET is required but not set", file=sys.stderr)
        return 2
    app_url = args.app_url.rstrip("/")
    with FakeSlack(host=args.fake_slack_host, port=args.fake_slack_port, team_id=args.team_id) as fake:
        print(f"fake Slack listening at {fake.base_url}", flush=True)
        try:
            check_stack(app_url, fake, signing_secret, args.team_id, args.timeout)
        except (CheckFailed, AssertionError) as failure:
            # AssertionError: the fake Slack's wait_for, which lists every call it received.
            print(f"stack check failed: {failure}", file=sys.stderr, flush=True)
            return 1
    print(PASSED, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
