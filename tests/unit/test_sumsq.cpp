// The sum-of-squares stage (plugins/sumsq): exact sums, the decimal formatting of 128-bit
// values, parameter validation, and proof that the loop really runs n iterations.
#include "../../plugins/sumsq/sum_of_squares.hpp"
#include "support/stage_harness.hpp"

#include <gtest/gtest.h>

#include <time.h>

#include <algorithm>
#include <limits>
#include <string>

namespace {

using batchproc::test::ParamError;
using batchproc::sumsq::sum_of_squares_closed_form;
using batchproc::sumsq::sum_of_squares_loop;
using batchproc::sumsq::to_decimal;
using batchproc::sumsq::u128;
using batchproc::test::run_generated;
using batchproc::test::run_stage;
using batchproc::test::StageResult;

StageResult run_n(const std::string &n) {
    return run_generated("sum_of_squares", "{n: " + n + "}", "sumsq");
}

std::string stage_sum(const std::string &n) {
    const StageResult r = run_n(n);
    EXPECT_EQ(r.error, "");
    EXPECT_TRUE(r.metrics.contains("sum")) << r.metrics.dump();
    EXPECT_TRUE(r.metrics["sum"].is_string()) << r.metrics.dump();
    EXPECT_EQ(r.metrics["n"], std::stoll(n));
    return r.metrics.value("sum", std::string("<missing>"));
}

// The expected sums below were computed with Python's arbitrary-precision integers:
//   python3 -c "print(sum(i*i for i in range(n)))"
TEST(SumOfSquares, SmallSumsMatchPython) {
    EXPECT_EQ(stage_sum("0"), "0");
    EXPECT_EQ(stage_sum("1"), "0");
    EXPECT_EQ(stage_sum("2"), "1");
    EXPECT_EQ(stage_sum("10"), "285");
    EXPECT_EQ(stage_sum("1000000"), "333332833333500000");
}

TEST(SumOfSquares, SumsBeyond64BitsMatchPython) {
    // 2^64 = 18446744073709551616: both sums exceed it.
    EXPECT_EQ(stage_sum("4000000"), "21333325333334000000");
    EXPECT_EQ(stage_sum("10000000"), "333333283333335000000");
}

TEST(SumOfSquares, DefaultIsOneMillionTerms) {
    const StageResult r = run_generated("sum_of_squares", "", "sumsq");
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.metrics["n"], 1000000);
    EXPECT_EQ(r.metrics["sum"], "333332833333500000");
}

TEST(SumOfSquares, LargestNFormatsExactly) {
    // n = 10^12 would take minutes by loop; the closed form in 128 bits, formatted by the
    // stage's own function, must equal Python's n*(n-1)*(2*n-1)//6.
    EXPECT_EQ(to_decimal(sum_of_squares_closed_form(1'000'000'000'000)), "333333333332833333333333500000000000");
    EXPECT_EQ(to_decimal(sum_of_squares_closed_form(uint64_t(batchproc::sumsq::max_n))),
              "333333333332833333333333500000000000");
}

TEST(SumOfSquares, LoopAgreesWithClosedForm) {
    for (uint64_t n = 0; n <= 3000; ++n) ASSERT_TRUE(sum_of_squares_loop(n) == sum_of_squares_closed_form(n)) << n;
    for (uint64_t n : {65'536ull, 4'294'967ull, 3'810'778ull, 3'810'779ull, 12'345'679ull})
        EXPECT_EQ(to_decimal(sum_of_squares_loop(n)), to_decimal(sum_of_squares_closed_form(n))) << n;
}

TEST(SumOfSquares, DecimalFormatting) {
    const u128 two64 = u128(1) << 64;
    EXPECT_EQ(to_decimal(0), "0");
    EXPECT_EQ(to_decimal(7), "7");
    EXPECT_EQ(to_decimal(10), "10");
    EXPECT_EQ(to_decimal(std::numeric_limits<uint64_t>::max()), "18446744073709551615");
    EXPECT_EQ(to_decimal(two64), "18446744073709551616");
    EXPECT_EQ(to_decimal(u128(10'000'000'000'000'000'000ull)), "10000000000000000000");
    EXPECT_EQ(to_decimal(u128(9'999'999'999'999'999'999ull)), "9999999999999999999");
    // Chunk boundaries: 10^19 * 10^19 = 10^38, and a value whose middle chunk is zero.
    const u128 e19 = 10'000'000'000'000'000'000ull;
    EXPECT_EQ(to_decimal(e19 * e19), "100000000000000000000000000000000000000");
    EXPECT_EQ(to_decimal(e19 * e19 + 5), "100000000000000000000000000000000000005");
    EXPECT_EQ(to_decimal(e19 + 1), "10000000000000000001");
    EXPECT_EQ(to_decimal(~u128(0)), "340282366920938463463374607431768211455"); // 2^128 - 1
}

TEST(SumOfSquares, RunsOnImageJobsAndLeavesTheImage) {
    cv::Mat image(4, 5, CV_8UC3, cv::Scalar(10, 20, 30));
    const StageResult r = run_stage("sum_of_squares", "{n: 10}", image, "sumsq");
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.metrics["sum"], "285");
    ASSERT_EQ(r.image.size(), image.size());
    EXPECT_EQ(cv::norm(r.image, image, cv::NORM_INF), 0.0);
}

void expect_rejected(const std::string &params, const std::string &what) {
    try {
        run_generated("sum_of_squares", params, "sumsq");
        ADD_FAILURE() << params << " was accepted";
    } catch (const ParamError &e) {
        EXPECT_EQ(e.key(), "pipeline[0].sum_of_squares.n") << e.what();
        EXPECT_NE(e.message().find(what), std::string::npos) << e.what();
    }
}

TEST(SumOfSquares, RejectsOutOfRangeAndNonIntegerN) {
    expect_rejected("{n: -1}", "-1");
    expect_rejected("{n: 10000000000000}", "10000000000000");
    expect_rejected("{n: 1.5}", "integer");
    expect_rejected("{n: lots}", "integer");
}

double thread_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

double cpu_seconds_for(const std::string &n) {
    const double start = thread_cpu_seconds();
    const StageResult r = run_n(n);
    const double spent = thread_cpu_seconds() - start;
    EXPECT_EQ(r.error, "");
    return spent;
}

// If the compiler had folded the loop into a closed form, both runs would take the same
// few microseconds. 100 times the work must cost at least 10 times the CPU time.
TEST(SumOfSquares, WorkGrowsWithN) {
    run_n("0"); // load the plugin outside the measurement
    double small = std::numeric_limits<double>::infinity();
    for (int i = 0; i < 3; ++i) small = std::min(small, cpu_seconds_for("4000000"));
    const double big = cpu_seconds_for("400000000");
    RecordProperty("cpu_s_n_4e6", std::to_string(small));
    RecordProperty("cpu_s_n_4e8", std::to_string(big));
    EXPECT_GE(big, 10 * small) << "n=4e6: " << small << " s, n=4e8: " << big << " s";
    EXPECT_GT(small, 0.0);
}

} // namespace
