// The arithmetic of the sum-of-squares benchmark stage, header-only so that tests can check
// it (in particular the decimal formatting of 128-bit sums up to n = 10^12) without running
// the stage for 10^12 iterations.
#pragma once

#include <cstdint>
#include <string>

namespace batchproc::sumsq {

// __extension__: -Wpedantic would otherwise warn that __int128 is not ISO C++.
__extension__ typedef unsigned __int128 u128;

// The largest n the stage accepts. Its sum, about 3.3e35, fits easily in 128 bits (3.4e38).
inline constexpr int64_t max_n = 1'000'000'000'000;

// sum(i*i for i in range(n)), computed the slow way: n real loop iterations.
//
// Compilers recognise the naive loop and replace it with the closed form below, which would
// make a benchmark of nothing. The empty asm statement tells the compiler that `i` may have
// been changed behind its back on every iteration, so it can neither derive a closed form
// nor vectorise the loop; it emits no instruction of its own.
inline u128 sum_of_squares_loop(uint64_t n) {
    u128 total = 0;
    for (uint64_t i = 0; i < n; ++i) {
        asm volatile("" : "+r"(i));
        total += u128(i) * i;
    }
    return total;
}

// n(n-1)(2n-1)/6 without overflow for every n <= 2^40 (the product is below 2^122).
// One of n and n-1 is even and one of n, n-1, 2n-1 is a multiple of 3, so the division is
// exact; the test uses it to check the loop and the formatting for n where looping is slow.
inline u128 sum_of_squares_closed_form(uint64_t n) {
    if (n == 0) return 0;
    return u128(n) * (n - 1) * (2 * u128(n) - 1) / 6;
}

// The exact decimal text of a 128-bit unsigned value ("0" for zero). The value is cut into
// base-10^19 digits, the largest power of ten that fits in 64 bits, so that only a few
// 128-bit divisions are needed.
inline std::string to_decimal(u128 value) {
    constexpr uint64_t chunk_base = 10'000'000'000'000'000'000ull; // 10^19
    uint64_t chunks[3] = {0, 0, 0};                                // 3 * 19 digits > 39
    int count = 0;
    do {
        chunks[count++] = uint64_t(value % chunk_base);
        value /= chunk_base;
    } while (value != 0);

    std::string out = std::to_string(chunks[count - 1]);
    for (int c = count - 2; c >= 0; --c) {
        char digits[19];
        uint64_t v = chunks[c];
        for (int d = 18; d >= 0; --d) {
            digits[d] = char('0' + v % 10);
            v /= 10;
        }
        out.append(digits, sizeof digits);
    }
    return out;
}

} // namespace batchproc::sumsq
