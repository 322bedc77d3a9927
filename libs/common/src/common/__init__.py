"""Domain-free building blocks shared by directive-api and report-api."""

import sys

# httpx imports its command-line client (rich, Pygments' lexers, click: ~3.5 MB resident) whenever
# those packages are installed, and they are: the operator commands print with rich. No process of
# the services runs `httpx` as a command, so its module is marked absent (httpx then defines a stub
# `main`); everything else of httpx is unaffected.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
