"""Names of a package imported from their module on first use (PEP 562).

A process that needs one module of a package (a command line reading its settings) then does not
import every other one (FastAPI, the HTTP clients, the ORM)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping


def lazy_attributes(package: str, sources: Mapping[str, str]) -> Callable[[str], object]:
    """The module ``__getattr__`` of ``package``: ``sources`` maps each public name to the module it
    lives in; a name is imported on first use and then kept in the package like any other."""

    def __getattr__(name: str) -> object:
        if name not in sources:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(sources[name]), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
