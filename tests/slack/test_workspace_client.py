"""An org-wide (Enterprise Grid) installation serves the worker's and the clock's work for a workspace of
its org once a request from that workspace showed which org it belongs to."""

from __future__ import annotations

import redis
from cryptography.fernet import Fernet
from slack_bolt import BoltContext

from bot.slack.workspace_client import WorkspaceTokens, remembering_org_workspaces
from bot.store import keys
from bot.store.installations import RedisInstallationStore
from tests.store.test_installations import installation


def request_context(enterprise_id: str, team_id: str, org_wide: bool) -> BoltContext:
    request = {"enterprise_id": enterprise_id, "team_id": team_id, "is_enterprise_install": org_wide}
    return BoltContext(request)


def test_a_request_from_an_org_wide_install_lets_later_work_for_its_workspace_find_the_org_bot(
    redis_client: redis.Redis, team_id: str
) -> None:
    enterprise_id = f"E{team_id[1:]}"
    store = RedisInstallationStore(redis_client, [Fernet.generate_key().decode()])
    org = installation(None, "U9", enterprise_id=enterprise_id, org_wide=True)
    store.save(org)
    tokens = WorkspaceTokens(store)
    remember = remembering_org_workspaces(store)
    went_on: list[str] = []
    try:
        # A workspace's own install says nothing about an org.
        remember(request_context(enterprise_id, team_id, org_wide=False), lambda: went_on.append("own"))
        assert redis_client.exists(keys.workspace_enterprise(team_id)) == 0

        remember(request_context(enterprise_id, team_id, org_wide=True), lambda: went_on.append("org"))

        assert went_on == ["own", "org"]
        served = tokens.workspace(team_id)
        assert (served.team_id, served.enterprise_id, served.bot_token) == (
            team_id,
            enterprise_id,
            org.bot_token,
        )
    finally:
        store.delete_all(enterprise_id=enterprise_id, team_id=None)
        redis_client.delete(keys.workspace_enterprise(team_id))
