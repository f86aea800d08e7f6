// Lesson 4: pools — Pool(4).map of square over 0..9, apply(square, 5), map_async; and
// ProcessPoolExecutor's map, then submit + as_completed.
#include <batchproc/mp/executor.hpp>
#include <batchproc/mp/pool.hpp>

#include <cstdio>
#include <numeric>
#include <vector>

namespace mp = batchproc::mp;

int square(int x) { return x * x; }
BATCHPROC_MP_TASK(square);

void print(const char *title, const std::vector<int> &values) {
    std::printf("%s:", title);
    for (int v : values) std::printf(" %d", v);
    std::printf("\n");
}

int main() {
    std::vector<int> xs(10);
    std::iota(xs.begin(), xs.end(), 0);
    {
        mp::Pool pool(4);
        print("pool.map", pool.map(square, xs));
        std::printf("pool.apply(square, 5): %d\n", pool.apply(square, 5));
        auto pending = pool.map_async(square, xs);
        print("pool.map_async", pending.get(10.0));
    }
    mp::ProcessPoolExecutor executor(4);
    std::vector<int> mapped;
    for (int v : executor.map(square, xs)) mapped.push_back(v);
    print("executor.map", mapped);
    std::vector<mp::Future<int>> futures;
    for (int x : xs) futures.push_back(executor.submit(square, x));
    int total = 0, count = 0;
    for (const auto &f : mp::as_completed(futures)) {
        total += f.result();
        ++count;
    }
    std::printf("as_completed: %d results, sum %d\n", count, total);
}
