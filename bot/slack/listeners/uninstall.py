"""Events API: the app leaves a workspace. `app_uninstalled`, or `tokens_revoked` naming the bot's token,
has every piece of the workspace's data deleted (bot/usecases/workspaces.py) by the worker, or right here
without one; `tokens_revoked` naming only people's own tokens deletes their installations, and the
workspace stays. Bolt acknowledges an event before its listener runs, so Slack is answered at once.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App

from bot.slack.delivery.run import WorkerQueue
from bot.store.jobs import current_job_id
from bot.store.sessions import STORE_ERRORS, SessionStore
from bot.usecases.workspaces import Installations, forget_installer, forget_workspace

log = logging.getLogger(__name__)

# The worker's task (bot/slack/app.py's `worker_tasks`) that deletes a workspace's data.
FORGET_WORKSPACE = "forget_workspace"


class WorkspaceRemoval:
    """What the app does when it leaves a workspace, in the web process (`uninstalled`) and in the worker
    (`forget`)."""

    def __init__(
        self, store: SessionStore, worker: WorkerQueue | None, installations: Installations | None
    ) -> None:
        self.redis = store.redis
        self.worker = worker
        self.installations = installations

    def uninstalled(self, team_id: str) -> None:
        if self.worker is None:
            self.forget(team_id)
            return
        try:
            self.worker.run_later(FORGET_WORKSPACE, team_id)
        except STORE_ERRORS as error:
            # Slack retries an event it got no answer to, not one it did: delete here rather than lose it.
            log.warning("could not hand the workspace's deletion to the worker; deleting here: %s", error)
            self.forget(team_id)

    def forget(self, team_id: str) -> None:
        """Delete the workspace's data; in the worker, every job naming it but the one doing this."""
        forgotten = forget_workspace(self.redis, team_id, self.installations, current_job_id())
        log.info(
            "the app left workspace %s: deleted %d key(s), %d clock entr(ies), %d job(s)",
            team_id,
            forgotten.keys,
            forgotten.clock_entries,
            forgotten.jobs,
        )

    def users_revoked(self, team_id: str, user_ids: list[str]) -> None:
        forget_installer(self.installations, team_id, user_ids)


def register(app: App, removal: WorkspaceRemoval) -> None:
    @app.event("app_uninstalled")
    def handle_app_uninstalled(body: dict[str, Any]) -> None:
        team_id = _team_of(body)
        if team_id:
            removal.uninstalled(team_id)

    @app.event("tokens_revoked")
    def handle_tokens_revoked(event: dict[str, Any], body: dict[str, Any]) -> None:
        team_id = _team_of(body)
        tokens = event.get("tokens") or {}
        if not team_id:
            return
        if tokens.get("bot"):
            removal.uninstalled(team_id)
        elif tokens.get("oauth"):
            removal.users_revoked(team_id, [str(user_id) for user_id in tokens["oauth"]])


def _team_of(body: dict[str, Any]) -> str:
    return str(body.get("team_id") or "")
