"""A relay worker process for the crash and concurrency tests.

Usage: ``python relay_runner.py DB_URL [--until-idle] [--start-at UNIX] [--batch N] [--lease S] [--timeout S]``.
Prints ``attempts=<n>`` when it ends (after SIGTERM or, with --until-idle, when nothing is left).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from outbox_models import MODELS, relay_settings

from common.db import create_engine, create_sessionmaker, transaction
from common.outbox import Relay


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--until-idle", action="store_true")
    parser.add_argument("--start-at", type=float, default=0.0)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--lease", type=float, default=5.0)
    parser.add_argument("--timeout", type=float, default=2.0)
    args = parser.parse_args()
    engine = create_engine(args.url, null_pool=True)
    settings = relay_settings(
        batch_size=args.batch, lease_seconds=args.lease, timeout_seconds=args.timeout, backoff_base_seconds=0.1
    )
    attempts = 0
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    if args.start_at > time.time():
        await asyncio.sleep(args.start_at - time.time())
    maker = create_sessionmaker(engine)
    async with Relay(maker, MODELS, settings) as relay:
        if args.until_idle:
            while not stop.is_set():
                async with transaction(maker) as session:
                    await relay.fan_out(session)
                done = await relay.deliver_due()
                attempts += done
                if done == 0:
                    stats = await relay.stats()
                    if stats["pending"] == 0 and stats["unsequenced"] == 0:
                        break
                    await asyncio.sleep(0.05)
        else:
            print("ready", flush=True)  # noqa: T201
            await relay.run_forever(stop, poll_interval=0.05)
    await engine.dispose()
    print(f"attempts={attempts}", flush=True)  # noqa: T201


if __name__ == "__main__":
    asyncio.run(main())
