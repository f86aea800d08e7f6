#!/usr/bin/env python3
"""Times commands side by side, interleaved, so that a noisy machine slows all alike.

    interleave.py RUNS WARMUP NAME=COMMAND [NAME=COMMAND ...]

Each round runs every command once, in the order given; the first WARMUP rounds are not
timed. A COMMAND is a shell command line (run with sh -c, output discarded; the few
hundred microseconds sh adds are the same for every command). Prints one line per command:
NAME, the median wall time in seconds and the ratio to the first command's median.
"""
import statistics
import subprocess
import sys
import time


def main() -> None:
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    runs, warmup = int(sys.argv[1]), int(sys.argv[2])
    commands = [arg.split("=", 1) for arg in sys.argv[3:]]
    times = {name: [] for name, _ in commands}
    for round_no in range(warmup + runs):
        for name, command in commands:
            start = time.perf_counter()
            subprocess.run(["sh", "-c", command], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            elapsed = time.perf_counter() - start
            if round_no >= warmup:
                times[name].append(elapsed)
    first = statistics.median(times[commands[0][0]])
    for name, _ in commands:
        median = statistics.median(times[name])
        print(f"{name} {median:.4f} {median / first:.3f}")


if __name__ == "__main__":
    main()
