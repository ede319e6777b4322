"""`mlops-compass serve`: the web process, over HTTP behind gunicorn or over Socket Mode."""

from __future__ import annotations

import argparse
import sys
from typing import Any

EXIT_INTERRUPTED = 130
MEMORY_WARNING = "warning: --memory keeps every assessment in this process; all state is lost when it exits"
REDIS_ADVICE = "start Redis or set REDIS_URL (or use --memory to try the app without it)"


def add_serve_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the Slack app (HTTP on $PORT at /slack/events, or Socket Mode)",
        description="Run the Slack app. Settings come from the environment; see the README.",
    )
    parser.add_argument("--socket", action="store_true", help="use Socket Mode (needs SLACK_APP_TOKEN)")
    parser.add_argument(
        "--memory",
        action="store_true",
        help="keep state in this process instead of Redis, for trying the app (lost on exit)",
    )
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on (default: 0.0.0.0)")
    parser.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace, consoles: Any) -> int:
    """Checks what it uses (bot/cli/startup.py), then serves; a bad start raises a one-line SettingsError."""
    from bot.cli.startup import check_port_free, start_slack_process
    from bot.settings import Settings, SocketModeSettings

    def port_is_free(settings: Settings) -> None:
        check_port_free(args.host, settings.port)

    try:
        if args.socket:
            socket_mode = start_slack_process(SocketModeSettings, args.memory, REDIS_ADVICE)
            _warn_of_memory(args.memory)
            from bot.cli.web import serve_socket_mode

            serve_socket_mode(socket_mode, memory=args.memory)
        else:
            over_http = start_slack_process(Settings, args.memory, REDIS_ADVICE, port_is_free)
            _warn_of_memory(args.memory)
            # Imported only once the settings are known to be good: gunicorn reads WEB_CONCURRENCY from
            # the environment as it is imported, and would fail with a traceback.
            from bot.cli.web import serve_http

            serve_http(over_http, memory=args.memory, host=args.host)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return 0


def _warn_of_memory(memory: bool) -> None:
    if memory:
        print(MEMORY_WARNING, file=sys.stderr)
