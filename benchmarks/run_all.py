"""Run every benchmark, one after another, and say which targets hold.

    python benchmarks/run_all.py            # the sizes the targets are set for (about 30 minutes)
    python benchmarks/run_all.py --quick    # tiny sizes: does everything still run?
    python benchmarks/run_all.py throughput dispatch   # some of them

Each benchmark prints its figures and the baseline it measured in the same run. Generated
databases go under benchmarks/.data (git-ignored; COMPLAINT_BOT_BENCH_DATA moves it).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time

BENCHMARKS = {
    "throughput": "1. end-to-end throughput vs a bare PTB echo bot",
    "peer": "2. vs ConversationHandler + PicklePersistence",
    "growth": "3. cost per update with 1k / 100k / 1M cases, SQLite and PostgreSQL",
    "due_query": "4. due query and claim with 1M cases, SQLite and PostgreSQL",
    "memory": "5. memory per idle conversation",
    "dispatch": "6. reminder dispatch under Telegram's limit",
    "startup": "7. start-up with 1M cases",
    "check_stall": "8. a crafted message does not stall others",
    "postgres": "9. the intake on PostgreSQL vs SQLite",
    "failover": "10. failover: SIGKILL of the leader to the next answer",
    "workers": "11. the intake with 1, 2 and 4 worker processes on PostgreSQL",
}


def main() -> int:
    """Run the benchmarks asked for; exit 1 if any target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=", ".join(BENCHMARKS))
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a few seconds each")
    args = parser.parse_args()
    names = args.names or list(BENCHMARKS)
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"no benchmark {', '.join(unknown)}; expected some of {', '.join(BENCHMARKS)}")
    started = time.perf_counter()
    results = {}
    for name in names:
        module = importlib.import_module(name)
        results[name] = module.main(["--quick"] if args.quick else [])
    sizes = ", quick sizes" if args.quick else ""
    print(f"\n== summary ({time.perf_counter() - started:.0f} s{sizes}) ==")
    for name in names:
        print(f"{'holds ' if results[name] else 'MISSED'}  {BENCHMARKS[name]}")
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
