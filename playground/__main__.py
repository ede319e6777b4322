"""``python -m playground``: the same command as ``mlops-compass-playground``."""

from playground.cli import main

raise SystemExit(main())
