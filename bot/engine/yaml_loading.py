"""The YAML loader for banks and answers files: safe YAML, read by libyaml where PyYAML was built with it,
several times faster than PyYAML's own parser to the same rules. Every process, and every terminal
command, loads the banks when it starts."""

from __future__ import annotations

__all__ = ["SafeYamlLoader"]

try:
    from yaml import CSafeLoader as SafeYamlLoader
except ImportError:  # a PyYAML built without libyaml
    from yaml import SafeLoader as SafeYamlLoader  # type: ignore[assignment]
