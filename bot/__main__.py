"""``python -m bot``: the same command as ``mlops-compass``."""

from bot.cli.main import main

raise SystemExit(main())
