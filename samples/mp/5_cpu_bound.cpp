// Lesson 5: a CPU-bound job — sum(i*i for i < 10^6), four times, serially and by a pool of 4,
// with the speedup and the exact 128-bit sums (Python gets them from its big integers).
#include <batchproc/mp/pool.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace mp = batchproc::mp;

__extension__ typedef unsigned __int128 u128; // a GNU extension, as in the batch engine

std::string to_decimal(u128 v) {
    std::string s;
    do {
        s.insert(s.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
        v /= 10;
    } while (v != 0);
    return s;
}

// The sum as decimal text: a 128-bit integer is not one of cereal's types.
std::string sum_of_squares(long long n) {
    u128 total = 0;
    for (long long i = 0; i < n; ++i) {
        total += static_cast<u128>(i) * static_cast<u128>(i);
        asm volatile("" : "+r"(i)); // keep the loop a loop: no closed form
    }
    return to_decimal(total);
}
BATCHPROC_MP_TASK(sum_of_squares);

int main() {
    const std::vector<long long> jobs(4, 1'000'000);
    auto start = std::chrono::steady_clock::now();
    std::vector<std::string> serial;
    for (long long n : jobs) serial.push_back(sum_of_squares(n));
    const double serial_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    mp::Pool pool(4);
    pool.map(sum_of_squares, std::vector<long long>{1}); // start the workers
    start = std::chrono::steady_clock::now();
    const std::vector<std::string> parallel = pool.map(sum_of_squares, jobs, 1);
    const double parallel_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    std::printf("sum of i*i for i < 1000000: %s\n", serial[0].c_str());
    std::printf("serial and pool agree: %s\n", serial == parallel ? "yes" : "no");
    std::printf("serial %.3f s, pool of 4 %.3f s, speedup %.2fx\n", serial_s, parallel_s, serial_s / parallel_s);
}
