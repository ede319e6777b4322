"""`mlops-compass installations reencrypt`: rotates the keys that encrypt the installations' tokens.

Put the new key first in SLACK_INSTALLATION_KEYS, the old ones after it, restart the processes, run this,
then drop the old keys (docs/operations.md, "Distributing the app (OAuth)").
"""

from __future__ import annotations

import argparse
from typing import Any

EXIT_OK = 0
EXIT_UNDECRYPTABLE = 1


def add_installations_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "installations",
        help="manage the stored OAuth installations (reencrypt: rotate their encryption keys)",
        description="The workspaces' installations kept in REDIS_URL when the app is distributed by OAuth.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    reencrypt = actions.add_parser(
        "reencrypt",
        help="rewrite every installation with the first of SLACK_INSTALLATION_KEYS",
        description="Rewrite every stored installation with the first key of SLACK_INSTALLATION_KEYS, so "
        "that the others can be removed. Running it again only finishes what an interrupted run left. Exits "
        "with 1 when a record decrypts with none of the keys (it is left as it is).",
    )
    reencrypt.set_defaults(handler=run_reencrypt)


def run_reencrypt(args: argparse.Namespace, consoles: Any) -> int:
    from bot.cli.startup import start_redis_command
    from bot.settings import InstallationKeySettings
    from bot.store.installations import RedisInstallationStore

    settings, client = start_redis_command(InstallationKeySettings)
    outcome = RedisInstallationStore(client, settings.installation_keys).reencrypt_all()
    print(f"re-encrypted with the first key: {outcome.reencrypted}")
    print(f"already encrypted with it: {outcome.current}")
    if not outcome.undecryptable:
        return EXIT_OK
    print(f"undecryptable with every key, left as they are: {len(outcome.undecryptable)}")
    for key in outcome.undecryptable:
        print(f"  {key}")
    print(
        "Put back the key these were encrypted with (after the first) and run this again; until then those "
        "workspaces cannot be served."
    )
    return EXIT_UNDECRYPTABLE
