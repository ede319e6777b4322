"""Events API: `app_home_opened` has the person's Home tab published (the Home tab only, each event once)."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.slack.history_flow import HistoryFlow


def register(app: App, history: HistoryFlow) -> None:
    @app.event("app_home_opened")
    def handle_app_home_opened(event: dict[str, Any], body: dict[str, Any]) -> None:
        # Bolt acknowledges events before this runs; the Messages tab opens the DM, which needs nothing.
        if event.get("tab") != "home":
            return
        team_id = str(body.get("team_id") or event.get("view", {}).get("team_id") or "")
        history.home_opened(team_id, str(event["user"]), body.get("event_id"))
