"""The floor `slack_load.py` measures the app against: a Bolt app that does the least an answer needs.

It acknowledges each block action and calls `chat.update` once, putting the clicked message back as it
was, and answers `GET /health` so the benchmark knows when it is up. It is served like the app (gunicorn,
gthread workers), so the difference between the two is what the app does for an answer:

    gunicorn --worker-class gthread --workers 2 --threads 8 bare_bolt:application

It reads SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET and SLACK_API_URL, as the app does.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import Ack, App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

from bot.slack.app import LISTENER_THREADS


def bare_app() -> App:
    client = WebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"])
    # As many listener threads as the app has, so the two differ only in what they do for an answer.
    app = App(
        client=client,
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        listener_executor=ThreadPoolExecutor(max_workers=LISTENER_THREADS),
    )

    @app.action(re.compile(".*"))
    def update_in_place(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        message = body["message"]
        client.chat_update(
            channel=body["container"]["channel_id"],
            ts=message["ts"],
            text=message.get("text") or "question",
            blocks=message.get("blocks") or [],
        )

    return app


def wsgi(app: App) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    slack = SlackRequestHandler(app)

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/health":
            start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
            return [b"ok"]
        return slack(environ, start_response)

    return application


application = wsgi(bare_app())
