"""The settings table in docs/operations.md is the one `bot/settings.py` makes, and lists every setting of
every command once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pydantic_settings import BaseSettings

from bot.settings import COMMAND_SETTINGS, SETTINGS_ORDER, SocketModeSettings, settings_table

OPERATIONS = Path(__file__).resolve().parents[1] / "docs" / "operations.md"


def documented_table() -> str:
    """The table in the Settings section: its lines from the first that starts with `|` to the last."""
    section = OPERATIONS.read_text(encoding="utf-8").split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    lines = section.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return "\n".join(lines[start:end]) + "\n"


def test_the_operations_page_shows_the_table_the_settings_make() -> None:
    assert documented_table() == settings_table(), (
        "docs/operations.md's settings table is not the one bot/settings.py makes: run "
        "`python -m bot.settings` and put what it prints in place of the table"
    )


def test_python_m_bot_settings_prints_the_table() -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "bot.settings"], capture_output=True, text=True, timeout=60, check=True
    )
    assert printed.stdout == settings_table()


def test_the_table_lists_every_setting_any_command_reads_once() -> None:
    kinds: list[type[BaseSettings]] = [*COMMAND_SETTINGS.values(), SocketModeSettings]
    read = {name for kind in kinds for name in kind.model_fields}
    assert sorted(SETTINGS_ORDER) == sorted(read)
    rows = settings_table().splitlines()[2:]
    assert [row.split(" | ")[0] for row in rows] == [f"| `{name.upper()}`" for name in SETTINGS_ORDER]


def test_read_by_names_the_commands_that_read_a_setting() -> None:
    rows = {row.split(" | ")[0]: row.split(" | ")[2] for row in settings_table().splitlines()[2:]}
    assert rows["| `REDIS_URL`"] == "`serve`, `worker`, `clock`, `jobs`, `export`, `installations`"
    assert rows["| `SLACK_CLIENT_ID`"] == "`serve`, `worker`, `clock`"
    assert rows["| `SLACK_INSTALLATION_KEYS`"] == "`serve`, `worker`, `clock`, `installations`"
    assert rows["| `SLACK_SIGNING_SECRET`"] == "`serve`"
    assert rows["| `OUTBOX_SWEEP_SECONDS`"] == "`worker`"
