// batchproc::mp primitives, timed the way bench/mp_primitives.py times Python's:
//
//   queue_pingpong N    N put/get round trips between two processes (two Queues)
//   queue_oneway N      a child puts N small items (ints), the parent gets them all
//   pipe_pingpong N     N send/recv round trips over a duplex Pipe
//   value_lock N        two processes each add 1 to a Value<int> N times under get_lock()
//
// Prints "<name> <operations> <seconds>" per run; the clock starts before the child starts
// and stops once the parent has its last answer (and the children are joined), as in Python.
#include <batchproc/mp.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

namespace mp = batchproc::mp;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

double queue_pingpong(long n) {
    mp::Queue<int> ping, pong;
    const auto start = Clock::now();
    mp::Process echo([ping, pong]() mutable {
        for (int v; (v = ping.get()) >= 0;) pong.put(v);
    });
    echo.start();
    for (long i = 0; i < n; ++i) {
        ping.put(static_cast<int>(i));
        if (pong.get() != i) std::abort();
    }
    ping.put(-1);
    echo.join();
    return since(start);
}

double queue_oneway(long n) {
    mp::Queue<int> q;
    const auto start = Clock::now();
    mp::Process producer([q, n]() mutable {
        for (long i = 0; i < n; ++i) q.put(static_cast<int>(i));
    });
    producer.start();
    long sum = 0;
    for (long i = 0; i < n; ++i) sum += q.get();
    producer.join();
    if (sum != n * (n - 1) / 2) std::abort();
    return since(start);
}

double pipe_pingpong(long n) {
    auto [here, there] = mp::Pipe<int>();
    const auto start = Clock::now();
    mp::Process echo([there = there]() mutable {
        for (int v; (v = there.recv()) >= 0;) there.send(v);
    });
    echo.start();
    for (long i = 0; i < n; ++i) {
        here.send(static_cast<int>(i));
        if (here.recv() != i) std::abort();
    }
    here.send(-1);
    echo.join();
    return since(start);
}

double value_lock(long n) {
    mp::Value<int> counter(0);
    const auto add = [counter, n]() mutable {
        for (long i = 0; i < n; ++i) {
            std::lock_guard guard(counter.get_lock());
            counter.value() += 1;
        }
    };
    const auto start = Clock::now();
    mp::Process a(add), b(add);
    a.start();
    b.start();
    a.join();
    b.join();
    const double seconds = since(start);
    if (counter.get() != 2 * n) std::abort();
    return seconds;
}

} // namespace

int main(int argc, char **argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s queue_pingpong|queue_oneway|pipe_pingpong|value_lock N\n", argv[0]);
        return 2;
    }
    const std::string what = argv[1];
    const long n = std::atol(argv[2]);
    double seconds = 0;
    long ops = n;
    if (what == "queue_pingpong") seconds = queue_pingpong(n);
    else if (what == "queue_oneway") seconds = queue_oneway(n);
    else if (what == "pipe_pingpong") seconds = pipe_pingpong(n);
    else if (what == "value_lock") {
        seconds = value_lock(n);
        ops = 2 * n;
    } else {
        std::fprintf(stderr, "unknown benchmark %s\n", what.c_str());
        return 2;
    }
    std::printf("%s %ld %.6f\n", what.c_str(), ops, seconds);
    return 0;
}
