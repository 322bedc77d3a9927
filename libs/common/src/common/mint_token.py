"""Mint a development bearer token: ``python -m common.mint_token --sub ID --roles a,b --unit CODE``.

Uses the private key created by :func:`common.auth.ensure_dev_keys` (default ``var/keys``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from common.auth import ensure_dev_keys, mint_token
from common.settings import AuthSettings


def main(argv: list[str] | None = None) -> int:
    """Print a token for the given person, roles and unit."""
    defaults = AuthSettings()
    parser = argparse.ArgumentParser(prog="mint-token", description=__doc__)
    parser.add_argument("--sub", required=True, help="person id (the token's subject)")
    parser.add_argument("--name", help="display name")
    parser.add_argument("--roles", required=True, help="comma-separated roles, e.g. drafter,reviewer")
    parser.add_argument("--unit", help="unit code the person acts for, e.g. VPUB or X31299")
    parser.add_argument("--keys", type=Path, default=Path("var/keys"), help="folder of the development keys")
    parser.add_argument("--ttl", type=int, default=8 * 3600, help="lifetime in seconds")
    parser.add_argument("--issuer", default=defaults.issuer)
    parser.add_argument("--audience", default=defaults.audience)
    args = parser.parse_args(argv)
    keys = ensure_dev_keys(args.keys)
    token = mint_token(
        keys.private_key_file.read_bytes(),
        subject=args.sub,
        name=args.name,
        roles=[r.strip() for r in args.roles.split(",") if r.strip()],
        unit=args.unit,
        issuer=args.issuer,
        audience=args.audience,
        ttl_seconds=args.ttl,
    )
    sys.stdout.write(token + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
