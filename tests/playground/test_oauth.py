"""`mlops-compass-playground --oauth`: the app distributed by OAuth installs into two fake workspaces through
its real install flow (its /slack/install and /slack/oauth_redirect, the fake's oauth.v2.access), and the
session in the second workspace is served with that workspace's own bot token."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest

from playground import cli
from playground.demo import CHANNEL
from playground.fakeslack import FakeSlack
from playground.oauth import CLIENT_ID, WORKSPACES, bearer
from tests.playground.terminal import run_without_a_terminal

FIRST, SECOND = WORKSPACES
INSTALLED = re.compile(
    r"Installed the app in Workspace (T\w+) \(\1\) as @you: opened (\S+), followed its Add to Slack link "
    r"(\S+), approved it"
)


class WatchedFakeSlack(FakeSlack):
    """The playground's own fake Slack, kept where the test can read what reached it."""

    started: ClassVar[list[FakeSlack]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        WatchedFakeSlack.started.append(self)


def test_two_workspaces_install_through_the_flow_and_the_demo_is_served_with_the_second_ones_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(cli, "FakeSlack", WatchedFakeSlack)
    WatchedFakeSlack.started.clear()

    code = cli.main(["--oauth", "--demo", "--bank", "pulse", "--chart", str(tmp_path / "chart.png")])

    out = capsys.readouterr().out
    assert code == 0, out
    [fake] = WatchedFakeSlack.started
    exchanges = fake.calls_to("oauth.v2.access")
    assert [(call.ok, call.response["team"]["id"]) for call in exchanges] == [(True, FIRST), (True, SECOND)]
    tokens = {team: fake.bot_token_of(team) for team in WORKSPACES}
    assert None not in tokens.values() and tokens[FIRST] != tokens[SECOND]

    installs = INSTALLED.findall(out)
    assert [team for team, _, _ in installs] == [FIRST, SECOND]
    states = []
    for _, page, link in installs:
        assert page.startswith("http://127.0.0.1:") and page.endswith("/slack/install")
        query = parse_qs(urlsplit(link).query)
        assert link.startswith("https://slack.com/oauth/v2/authorize?")
        assert query["client_id"] == [CLIENT_ID] and "chat:write" in query["scope"][0].split(",")
        states.append(query["state"][0])
    assert len(set(states)) == 2, "each install took a state of its own"

    # Everything after the second install is the demo, in the second workspace: each Web API call the app
    # made carried that workspace's token, the report and its chart among them.
    session = fake.calls[fake.calls.index(exchanges[-1]) + 1 :]
    made = [call for call in session if "." in call.method]
    assert {bearer(call) for call in made} == {tokens[SECOND]}, [(c.method, bearer(c)) for c in made]
    reports = [
        call
        for call in made
        if call.method == "chat.postMessage" and call.ok and call.params.get("channel") == CHANNEL
    ]
    assert len(reports) >= 2, "the demo's two reports and their threads reached #general"
    assert any(call.method == "files.completeUploadExternal" and call.ok for call in made)
    assert f"You play in Workspace {SECOND}." in out
    # The install's own calls (Bolt's auth.test of the new token) come before the session's count.
    counted = re.search(rf"Each of the app's (\d+) Web API calls in Workspace {SECOND} carried", out)
    assert counted is not None and 0 < int(counted.group(1)) <= len(made)
    assert "Assessment 2 of 2" in out and (tmp_path / "chart.png").read_bytes().startswith(b"\x89PNG")


def test_without_a_terminal_the_oauth_team_run_plays_through_to_the_team_report_and_exits_0() -> None:
    finished = run_without_a_terminal("--oauth", "--team", "--bank", "pulse", timeout=180)
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr
    out = finished.stdout
    assert "No terminal on stdin: playing the built-in demo answers" in out
    assert [team for team, _, _ in INSTALLED.findall(out)] == [FIRST, SECOND]
    # The team report needs every member looked up in Slack, each lookup with the workspace's token.
    assert "Team MLOps maturity report" in out
    assert re.search(rf"Each of the app's \d+ Web API calls in Workspace {SECOND} carried", out)


@pytest.mark.parametrize("other", ["--socket", "--schedule-demo"])
def test_oauth_needs_the_app_over_http(other: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--oauth", other])
    assert exited.value.code == 2
    assert "--oauth runs the app over HTTP" in capsys.readouterr().err
