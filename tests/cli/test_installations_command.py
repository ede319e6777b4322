"""`mlops-compass installations reencrypt`: every stored installation rewritten with the first key, the
counts printed, and exit code 1 while a record decrypts with none of the keys. Runs on a Redis server of
its own: the command goes through every installation in the database."""

from __future__ import annotations

import pytest
import redis
from cryptography.fernet import Fernet

from bot.cli.main import main
from bot.store.installations import RedisInstallationStore
from tests.conftest import new_team_id
from tests.store.test_installations import installation

OLD_KEY, NEW_KEY, LOST_KEY = (Fernet.generate_key().decode() for _ in range(3))


def url_of(client: redis.Redis) -> str:
    connection = client.connection_pool.connection_kwargs
    return f"redis://{connection['host']}:{connection['port']}/{connection.get('db', 0)}"


def reencrypt(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], client: redis.Redis, keys: str
) -> tuple[int, list[str]]:
    monkeypatch.setenv("REDIS_URL", url_of(client))
    monkeypatch.setenv("SLACK_INSTALLATION_KEYS", keys)
    code = main(["installations", "reencrypt"])
    return code, capsys.readouterr().out.splitlines()


def test_rotating_to_a_new_key_rewrites_each_record_once_and_the_old_key_can_go(
    own_redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    teams = [new_team_id(), new_team_id()]
    under_old_key = RedisInstallationStore(own_redis_client, [OLD_KEY])
    for team in teams:
        under_old_key.save(installation(team, tag="old"))

    code, out = reencrypt(monkeypatch, capsys, own_redis_client, f"{NEW_KEY},{OLD_KEY}")
    # Each workspace keeps two records: its bot's and its installer's.
    assert (code, out) == (0, ["re-encrypted with the first key: 4", "already encrypted with it: 0"])
    code, out = reencrypt(monkeypatch, capsys, own_redis_client, f"{NEW_KEY},{OLD_KEY}")
    assert (code, out) == (0, ["re-encrypted with the first key: 0", "already encrypted with it: 4"])

    new_key_only = RedisInstallationStore(own_redis_client, [NEW_KEY])
    for team in teams:
        bot = new_key_only.find_bot(enterprise_id=None, team_id=team)
        assert bot is not None and bot.bot_token == f"xoxb-{team}-U1-old"


def test_a_record_no_key_decrypts_is_listed_kept_and_exits_with_1(
    own_redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    readable, lost = new_team_id(), new_team_id()
    RedisInstallationStore(own_redis_client, [OLD_KEY]).save(installation(readable))
    RedisInstallationStore(own_redis_client, [LOST_KEY]).save(installation(lost))
    kept = {key: own_redis_client.dump(key) for key in own_redis_client.scan_iter(match=f"*{{{lost}}}*")}

    code, out = reencrypt(monkeypatch, capsys, own_redis_client, f"{NEW_KEY},{OLD_KEY}")
    assert code == 1
    assert out[:3] == [
        "re-encrypted with the first key: 2",
        "already encrypted with it: 0",
        "undecryptable with every key, left as they are: 2",
    ]
    assert all(lost in line for line in out[3:5])
    assert {key: own_redis_client.dump(key) for key in kept} == kept
    # With the lost key back, after the first, the next run finishes the job.
    code, out = reencrypt(monkeypatch, capsys, own_redis_client, f"{NEW_KEY},{OLD_KEY},{LOST_KEY}")
    assert (code, out) == (0, ["re-encrypted with the first key: 2", "already encrypted with it: 2"])


def test_without_installation_keys_the_command_stops_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SLACK_INSTALLATION_KEYS", raising=False)
    assert main(["installations", "reencrypt"]) == 2
    assert capsys.readouterr().err.startswith(
        "mlops-compass installations: SLACK_INSTALLATION_KEYS is required but not set"
    )
