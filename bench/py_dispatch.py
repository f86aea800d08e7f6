#!/usr/bin/env python3
"""Python's reference point for bench/dispatch.sh: empty-job throughput of a process pool.

Maps a function that does nothing over N items with
concurrent.futures.ProcessPoolExecutor(max_workers=W), chunksize 1 (one item per message,
as batchproc sends one job per message), and waits for every result.

    python3 bench/py_dispatch.py [--jobs 20000] [--workers 2] [--start-method default|fork|spawn|forkserver]

The script is meant to be timed from outside (hyperfine), so the figure includes the
interpreter's start-up and the pool's, exactly as batchproc's includes its own. It also
prints its own inside timing on stderr (pool creation to last result) for reference.
"""

import argparse
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor


def empty(_item):
    """The job: nothing at all."""
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--start-method", default="default",
                        choices=["default", "fork", "spawn", "forkserver"],
                        help="multiprocessing start method; default = the platform's (fork on Linux "
                             "up to Python 3.13)")
    parser.add_argument("--quiet", action="store_true", help="print nothing on stderr")
    args = parser.parse_args()

    context = None if args.start_method == "default" else multiprocessing.get_context(args.start_method)
    start = time.perf_counter()
    done = 0
    with ProcessPoolExecutor(max_workers=args.workers, mp_context=context) as pool:
        for _ in pool.map(empty, range(args.jobs), chunksize=1):
            done += 1
    elapsed = time.perf_counter() - start
    if done != args.jobs:
        print(f"py_dispatch: {done} results for {args.jobs} jobs", file=sys.stderr)
        return 1
    if not args.quiet:
        method = args.start_method if context is not None else multiprocessing.get_start_method()
        print(f"py_dispatch: {args.jobs} jobs, {args.workers} workers, {method}: "
              f"{elapsed:.3f} s inside the script, {args.jobs / elapsed:.0f} jobs/s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
