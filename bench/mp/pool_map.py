# Pool.map of N trivial tasks, timed: the Python half of bench/mp_pool.sh.
# Usage: pool_map.py WORKERS N CHUNKSIZE RUNS  ->  one line per run: "seconds"
import multiprocessing as mp
import sys
import time


def square(x):
    return x * x


if __name__ == "__main__":
    workers, n, chunksize, runs = (int(a) for a in sys.argv[1:5])
    xs = list(range(n))
    with mp.get_context("fork").Pool(workers) as pool:
        pool.map(square, [1, 2, 3, 4], 1)  # the workers are up
        for _ in range(runs):
            start = time.perf_counter()
            out = pool.map(square, xs, chunksize)
            print(f"{time.perf_counter() - start:.6f}", flush=True)
            assert out[-1] == (n - 1) * (n - 1)
