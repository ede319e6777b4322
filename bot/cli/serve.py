"""`mlops-compass serve`: the web process, over HTTP behind gunicorn or over Socket Mode."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.settings import SettingsError, load_settings

EXIT_BAD_SETTING = 2
EXIT_INTERRUPTED = 130
MEMORY_WARNING = "warning: --memory keeps every assessment in this process; all state is lost when it exits"


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
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"mlops-compass serve: {error}", file=sys.stderr)
        return EXIT_BAD_SETTING
    # The web stack is imported only once its settings are known to be good: gunicorn reads
    # WEB_CONCURRENCY from the environment as it is imported, and would fail with a traceback.
    from bot.cli.web import StartupError, configure_logging, serve_http, serve_socket_mode

    try:
        configure_logging(settings.log_level)
        if args.memory:
            print(MEMORY_WARNING, file=sys.stderr)
        if args.socket:
            serve_socket_mode(settings, memory=args.memory)
        else:
            serve_http(settings, memory=args.memory, host=args.host)
    except StartupError as error:
        print(f"mlops-compass serve: {error}", file=sys.stderr)
        return EXIT_BAD_SETTING
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return 0
