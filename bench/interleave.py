#!/usr/bin/env python3
"""Times commands side by side, interleaved, so that a noisy machine slows all alike.

    interleave.py [--prepare CMD] [--json FILE] RUNS WARMUP NAME=COMMAND [NAME=COMMAND ...]

Each round runs every command once, in the order given; the first WARMUP rounds are not
timed. A COMMAND is a shell command line (run with sh -c, output discarded; the few
hundred microseconds sh adds are the same for every command). Prints one line per command:
NAME, the median wall time in seconds and the ratio to the first command's median.

--prepare CMD: a shell command run, untimed, before every run of every command, with {name}
replaced by that command's NAME (e.g. to empty its output folder).
--json FILE: the runs in hyperfine's JSON layout ({"results": [{"command", "median", "mean",
"min", "max", "times"}]}), so that readers of hyperfine's files can read these too.
"""
import json
import statistics
import subprocess
import sys
import time


def main() -> None:
    args = sys.argv[1:]
    prepare = json_path = None
    while args and args[0] in ("--prepare", "--json"):
        if len(args) < 2:
            sys.exit(__doc__)
        if args[0] == "--prepare":
            prepare = args[1]
        else:
            json_path = args[1]
        args = args[2:]
    if len(args) < 3:
        sys.exit(__doc__)
    runs, warmup = int(args[0]), int(args[1])
    commands = [arg.split("=", 1) for arg in args[2:]]
    times = {name: [] for name, _ in commands}
    for round_no in range(warmup + runs):
        for name, command in commands:
            if prepare:
                subprocess.run(["sh", "-c", prepare.replace("{name}", name)], check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            start = time.perf_counter()
            subprocess.run(["sh", "-c", command], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            elapsed = time.perf_counter() - start
            if round_no >= warmup:
                times[name].append(elapsed)
    first = statistics.median(times[commands[0][0]])
    for name, _ in commands:
        median = statistics.median(times[name])
        print(f"{name} {median:.4f} {median / first:.3f}")
    if json_path:
        with open(json_path, "w") as f:
            json.dump({"results": [{"command": name, "median": statistics.median(t), "mean": statistics.mean(t),
                                    "min": min(t), "max": max(t), "times": t} for name, t in times.items()]},
                      f, indent=1)


if __name__ == "__main__":
    main()
