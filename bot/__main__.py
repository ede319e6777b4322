"""``python -m bot``: the same command as ``mlops-compass``."""

from bot.cli import main

raise SystemExit(main())
