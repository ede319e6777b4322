"""deploy/check_stack.py, the check `.ci/compose-check` runs inside the compose stack, run here against the
web process and the worker as the Procfile starts them: it passes against a working app, and says why it
fails when no app answers."""

from __future__ import annotations

import pytest

from deploy.check_stack import PASSED, check_stack, main
from playground.fakeslack import FakeSlack
from playground.fakeslack.app_process import AppProcess, free_port
from tests.e2e.conftest import SIGNING_SECRET


def test_the_check_passes_against_the_web_process_and_the_worker(
    app: AppProcess, fake_slack: FakeSlack, team_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    check_stack(app.url, fake_slack, SIGNING_SECRET, team_id, timeout=30)
    assert capsys.readouterr().out.splitlines() == [
        f"ok: GET {app.url}/health answered 200",
        "ok: a command signed with another secret was refused (401)",
        "ok: /mlops-compass help was answered with the help",
        "ok: /mlops-compass sent the first question to the DM",
        "ok: the worker published the Home tab",
    ]


def test_the_check_fails_saying_so_when_no_app_answers(
    team_id: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    app_url = f"http://127.0.0.1:{free_port()}"
    arguments = [f"--app-url={app_url}", f"--fake-slack-port={free_port()}", f"--team-id={team_id}"]

    assert main([*arguments, "--timeout=0.2"]) == 1

    printed = capsys.readouterr()
    assert f"stack check failed: GET {app_url}/health did not answer 200 within 0.2s" in printed.err
    assert PASSED not in printed.out
