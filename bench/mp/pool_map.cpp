// Pool.map of N trivial tasks, timed: the C++ half of bench/mp_pool.sh.
// Usage: mp_pool_map WORKERS N CHUNKSIZE RUNS  ->  one line per run: "seconds"
#include <batchproc/mp/pool.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <vector>

namespace mp = batchproc::mp;

long long square(long long x) { return x * x; }
BATCHPROC_MP_TASK(square);

int main(int argc, char **argv) {
    if (argc < 5) {
        std::fprintf(stderr, "usage: %s WORKERS N CHUNKSIZE RUNS [fork|spawn|forkserver]\n", argv[0]);
        return 2;
    }
    const int workers = std::atoi(argv[1]);
    const int n = std::atoi(argv[2]);
    const int chunksize = std::atoi(argv[3]);
    const int runs = std::atoi(argv[4]);
    mp::PoolOptions options;
    if (argc > 5) options.start_method = mp::parse_start_method(argv[5]);
    std::vector<long long> xs(static_cast<std::size_t>(n));
    std::iota(xs.begin(), xs.end(), 0);
    mp::Pool pool(static_cast<std::size_t>(workers), options);
    pool.map(square, std::vector<long long>{1, 2, 3, 4}, 1); // start the workers, as Python's Pool() does
    long long check = 0;
    for (int r = 0; r < runs; ++r) {
        const auto start = std::chrono::steady_clock::now();
        const std::vector<long long> out = pool.map(square, xs, static_cast<std::size_t>(chunksize));
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        check += out.back();
        std::printf("%.6f\n", s);
    }
    if (check != static_cast<long long>(runs) * (n - 1LL) * (n - 1LL)) {
        std::fprintf(stderr, "wrong results\n");
        return 1;
    }
    return 0;
}
