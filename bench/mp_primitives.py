"""Python's multiprocessing primitives, timed as bench/mp_primitives/mp_primitives_bench.cpp
times batchproc::mp's (see there); run by bench/mp_primitives.sh.

    python3 mp_primitives.py queue_pingpong|queue_oneway|pipe_pingpong|value_lock N
prints "<name> <operations> <seconds>". Start method: fork (Python 3.11's default on Linux).
"""
import multiprocessing as mp
import sys
import time


def _echo_queue(ping, pong):
    while True:
        v = ping.get()
        if v < 0:
            break
        pong.put(v)


def queue_pingpong(n):
    ping, pong = mp.Queue(), mp.Queue()
    start = time.perf_counter()
    p = mp.Process(target=_echo_queue, args=(ping, pong))
    p.start()
    for i in range(n):
        ping.put(i)
        if pong.get() != i:
            raise SystemExit("wrong answer")
    ping.put(-1)
    p.join()
    return time.perf_counter() - start


def _produce(q, n):
    for i in range(n):
        q.put(i)


def queue_oneway(n):
    q = mp.Queue()
    start = time.perf_counter()
    p = mp.Process(target=_produce, args=(q, n))
    p.start()
    total = 0
    for _ in range(n):
        total += q.get()
    p.join()
    if total != n * (n - 1) // 2:
        raise SystemExit("wrong sum")
    return time.perf_counter() - start


def _echo_pipe(conn):
    while True:
        v = conn.recv()
        if v < 0:
            break
        conn.send(v)


def pipe_pingpong(n):
    here, there = mp.Pipe()
    start = time.perf_counter()
    p = mp.Process(target=_echo_pipe, args=(there,))
    p.start()
    for i in range(n):
        here.send(i)
        if here.recv() != i:
            raise SystemExit("wrong answer")
    here.send(-1)
    p.join()
    return time.perf_counter() - start


def _add(counter, n):
    for _ in range(n):
        with counter.get_lock():
            counter.value += 1


def value_lock(n):
    counter = mp.Value("i", 0)
    start = time.perf_counter()
    ps = [mp.Process(target=_add, args=(counter, n)) for _ in range(2)]
    for p in ps:
        p.start()
    for p in ps:
        p.join()
    seconds = time.perf_counter() - start
    if counter.value != 2 * n:
        raise SystemExit("wrong count")
    return seconds


if __name__ == "__main__":
    mp.set_start_method("fork")
    what, n = sys.argv[1], int(sys.argv[2])
    seconds = globals()[what](n)
    ops = 2 * n if what == "value_lock" else n
    print(f"{what} {ops} {seconds:.6f}")
