"""The command line's side of results over time: `assess --chart FILE` and `export` for an admin."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from bot.engine.export import EXPORT_FORMATS, to_csv, to_json
from bot.engine.report_view import build_view
from bot.engine.scoring import Report
from bot.render.chart import chart_png
from bot.settings import StoreSettings
from bot.store.history import HistoryStore, summary_of_report
from bot.usecases.history import workspace_export

EXIT_OK = 0
EXIT_USAGE = 2


class ChartPathError(Exception):
    pass


def check_chart_path(path: Path) -> None:
    """Refuse a chart path that cannot be written before any question is asked."""
    if path.is_dir():
        raise ChartPathError(f"--chart {path}: is a directory; name a file, e.g. {path / 'chart.png'}")
    if not path.parent.is_dir():
        raise ChartPathError(f"--chart {path}: the directory {path.parent} does not exist")


def write_chart(report: Report, path: Path) -> int:
    """The report's chart as Slack shows it (this result alone: the terminal keeps no history); returns
    the number of bytes written."""
    png = chart_png(summary_of_report(report, "terminal", time.time()), view=build_view(report))
    path.write_bytes(png)
    return len(png)


def add_export_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export kept results as CSV or JSON, for an admin (reads REDIS_URL)",
        description=(
            "Write every kept result (personal and channel team results) of the named workspaces, or of all "
            "workspaces, to standard output or --output FILE. CSV cells that a spreadsheet would run as a "
            "formula are written as text."
        ),
    )
    parser.add_argument(
        "--format", choices=EXPORT_FORMATS, default="csv", help="output format (default: csv)"
    )
    parser.add_argument(
        "--workspace",
        action="append",
        default=[],
        metavar="T…",
        help="a workspace (team) id; repeat for more (default: every workspace with results)",
    )
    parser.add_argument("--output", type=Path, metavar="FILE", help="write here instead of standard output")
    parser.set_defaults(handler=run_export)


def run_export(args: argparse.Namespace, consoles: Any) -> int:
    from bot.cli.startup import history_limits, start_redis_command

    bad = [w for w in args.workspace if not w.startswith(("T", "E")) or not w.isalnum()]
    if bad:
        print(
            f"mlops-compass export: not a workspace id: {', '.join(bad)} (they look like T0123ABCD)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.output is not None and not args.output.parent.is_dir():
        print(f"mlops-compass export: --output {args.output}: the directory does not exist", file=sys.stderr)
        return EXIT_USAGE
    settings, client = start_redis_command(StoreSettings)
    rows = workspace_export(HistoryStore(client, history_limits(settings)), args.workspace)
    text = to_csv(rows) if args.format == "csv" else to_json(rows)
    if args.output is not None:
        args.output.write_text(text, encoding="utf-8", newline="")
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    workspaces = len({row.workspace for row in rows})
    where = f" to {args.output}" if args.output is not None else ""
    print(f"exported {len(rows)} result(s) from {workspaces} workspace(s){where}", file=sys.stderr)
    return EXIT_OK
