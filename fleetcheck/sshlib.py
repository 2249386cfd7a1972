"""paramiko, imported without the task runner its ssh_config reader loads up front.

paramiko's `config` module imports `invoke` (and with it asyncio and unittest.mock) as
paramiko itself is imported, for the one use of running a `Match exec` command: about
50 ms of CPU at every start of a scan. fleetcheck reads ssh_config itself
(`transport.ssh.config`) and never calls paramiko's `SSHConfig`, so every module of ours
that uses paramiko imports it from here first, with `invoke` put off until something
asks for it: a program that uses `SSHConfig` in the same process gets the real module on
first use, as before.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any


class _OnFirstUse(ModuleType):
    """Stands for `invoke` in paramiko's `config` module and imports it when first used."""

    def __getattr__(self, name: str) -> Any:
        return getattr(importlib.import_module("invoke"), name)


def _import_paramiko() -> None:
    if "paramiko" in sys.modules:  # imported already (by a program using us as a library)
        return
    put_off = "invoke" not in sys.modules
    if put_off:
        sys.modules["invoke"] = None  # type: ignore[assignment]  # its import fails: skipped
    try:
        import paramiko.config
    finally:
        if put_off and "invoke" in sys.modules and sys.modules["invoke"] is None:
            del sys.modules["invoke"]
    if put_off and getattr(paramiko.config, "invoke", None) is None:
        paramiko.config.invoke = _OnFirstUse("invoke")  # type: ignore[attr-defined]


_import_paramiko()

import paramiko  # noqa: E402  (after the import above, which sets how paramiko loads)

__all__ = ["paramiko"]
