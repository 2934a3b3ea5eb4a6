"""createDeal throughput and the 50-racer case only: a shortcut for

    .venv/bin/python bench/run.py --servers dd1 --queries createDeal [...]

    .venv/bin/python bench/create_deal.py [--workers 1|2] [--clients 32] [--seconds 15]
                                          [--rounds 1] [any other bench/run.py option]

The measurements themselves live in bench/run.py (wrk on distinct vehicles, SQL statements
per createDeal, the race); see bench/README.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import main as run_main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, choices=(1, 2), default=1)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--rounds", type=int, default=1)
    args, rest = parser.parse_known_args(argv)
    return run_main(
        [
            "--servers",
            f"dd{args.workers}",
            "--queries",
            "createDeal",
            "--conns",
            str(args.clients),
            "--secs",
            str(args.seconds),
            "--rounds",
            str(args.rounds),
            "--out",
            str(Path(__file__).resolve().parent / "out" / "create_deal.json"),
            *rest,
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
