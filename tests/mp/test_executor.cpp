// ProcessPoolExecutor, Future and as_completed: results under every start method, failures,
// completion order, cancellation and shutdown.
#include "batchproc/mp/executor.hpp"

#include "mp_test_support.hpp"

#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace mp = batchproc::mp;

namespace {

int cube(int x) { return x * x * x; }
BATCHPROC_MP_TASK(cube);

int nap(int ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return ms;
}
BATCHPROC_MP_TASK(nap);

int refuse(int x) {
    if (x < 0) throw std::invalid_argument("negative: " + std::to_string(x));
    return x;
}
BATCHPROC_MP_TASK(refuse);

int abort_task(int) { std::abort(); }
BATCHPROC_MP_TASK(abort_task);

void nothing(int) {}
BATCHPROC_MP_TASK(nothing);

class ExecutorTest : public mp_test::MpTest, public ::testing::WithParamInterface<mp::StartMethod> {
protected:
    mp::PoolOptions options() const {
        mp::PoolOptions o;
        o.start_method = GetParam();
        return o;
    }
};

std::string method_name(const ::testing::TestParamInfo<mp::StartMethod> &info) { return mp::to_string(info.param); }

TEST_P(ExecutorTest, SubmitAndMap) {
    mp::ProcessPoolExecutor ex(2, options());
    std::vector<mp::Future<int>> fs;
    for (int i = 0; i < 20; ++i) fs.push_back(ex.submit(cube, i));
    for (int i = 0; i < 20; ++i) EXPECT_EQ(fs[static_cast<std::size_t>(i)].result(), i * i * i);
    EXPECT_TRUE(fs[0].done());
    EXPECT_FALSE(fs[0].running());
    EXPECT_FALSE(fs[0].cancelled());
    EXPECT_EQ(fs[0].exception(), nullptr);

    std::vector<int> xs(50);
    std::iota(xs.begin(), xs.end(), 0);
    std::vector<int> got;
    for (int v : ex.map(cube, xs)) got.push_back(v);
    ASSERT_EQ(got.size(), 50u);
    for (int i = 0; i < 50; ++i) EXPECT_EQ(got[static_cast<std::size_t>(i)], i * i * i);
    got.clear();
    for (int v : ex.map(cube, xs, std::nullopt, 8)) got.push_back(v);
    EXPECT_EQ(got.back(), 49 * 49 * 49);

    auto v = ex.submit(nothing, 1);
    v.result(); // Future<void>
    EXPECT_TRUE(v.done());
}

TEST_P(ExecutorTest, FailuresReachTheFuture) {
    mp::ProcessPoolExecutor ex(2, options());
    auto bad = ex.submit(refuse, -4);
    auto good = ex.submit(refuse, 4);
    auto crash = ex.submit(abort_task, 0);
    try {
        bad.result();
        FAIL();
    } catch (const mp::TaskError &e) {
        EXPECT_EQ(e.type_name(), "std::invalid_argument");
        EXPECT_EQ(e.message(), "negative: -4");
    }
    EXPECT_NE(bad.exception(), nullptr);
    EXPECT_EQ(good.result(), 4);
    try {
        crash.result();
        FAIL();
    } catch (const mp::WorkerCrashed &e) {
        EXPECT_EQ(e.signal(), SIGABRT);
        EXPECT_NE(std::string(e.what()).find("SIGABRT"), std::string::npos) << e.what();
    }
    EXPECT_EQ(ex.submit(cube, 3).result(), 27); // the executor goes on
}

TEST_P(ExecutorTest, AsCompletedYieldsInCompletionOrder) {
    mp::ProcessPoolExecutor ex(3, options());
    std::vector<mp::Future<int>> fs{ex.submit(nap, 1500), ex.submit(nap, 300), ex.submit(nap, 10)};
    std::vector<int> order;
    for (const auto &f : mp::as_completed(fs)) order.push_back(f.result());
    EXPECT_EQ(order, (std::vector<int>{10, 300, 1500}));

    std::vector<mp::Future<int>> slow{ex.submit(nap, 2000)};
    auto it = mp::as_completed(slow, 0.1);
    EXPECT_THROW(it.next(), mp::TimeoutError);
    EXPECT_THROW(slow[0].result(0.05), mp::TimeoutError);
    EXPECT_EQ(slow[0].result(), 2000);
}

TEST_P(ExecutorTest, CancelPendingFuture) {
    mp::ProcessPoolExecutor ex(1, options());
    auto running = ex.submit(nap, 1500);
    std::vector<mp::Future<int>> queued;
    for (int i = 0; i < 5; ++i) queued.push_back(ex.submit(cube, i));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_TRUE(running.running());
    EXPECT_FALSE(running.cancel());
    EXPECT_TRUE(queued.back().cancel());
    EXPECT_TRUE(queued.back().cancelled());
    EXPECT_TRUE(queued.back().done());
    EXPECT_THROW(queued.back().result(), mp::CancelledError);
    std::atomic<int> called{0};
    queued.back().add_done_callback([&called](const mp::Future<int> &f) { called += f.cancelled() ? 1 : 100; });
    EXPECT_EQ(called.load(), 1);
    EXPECT_EQ(running.result(), 1500);
    EXPECT_EQ(queued.front().result(), 0);
}

TEST_P(ExecutorTest, ShutdownCancelFutures) {
    mp::ProcessPoolExecutor ex(1, options());
    auto running = ex.submit(nap, 800);
    std::vector<mp::Future<int>> queued;
    for (int i = 0; i < 10; ++i) queued.push_back(ex.submit(nap, 100));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    std::atomic<int> callbacks{0};
    running.add_done_callback([&callbacks](const mp::Future<int> &) { ++callbacks; });
    ex.shutdown(true, true);
    EXPECT_EQ(running.result(), 800);
    EXPECT_EQ(callbacks.load(), 1);
    int cancelled = 0;
    for (auto &f : queued) {
        EXPECT_TRUE(f.done());
        cancelled += f.cancelled() ? 1 : 0;
    }
    EXPECT_GE(cancelled, 8); // at most one was queued in the worker already
    EXPECT_THROW(ex.submit(cube, 1), mp::ValueError);
}

INSTANTIATE_TEST_SUITE_P(StartMethods, ExecutorTest,
                         ::testing::Values(mp::StartMethod::fork, mp::StartMethod::spawn, mp::StartMethod::forkserver),
                         method_name);

class ExecutorForkTest : public mp_test::MpTest {};

TEST_F(ExecutorForkTest, LambdasAndTimeouts) {
    mp::PoolOptions o;
    o.timeout = 0.5;
    mp::ProcessPoolExecutor ex(2, o);
    const std::string prefix = "item-";
    auto f = ex.submit([&prefix](int i) { return prefix + std::to_string(i); }, 7);
    EXPECT_EQ(f.result(), "item-7");
    auto hung = ex.submit(nap, 60000);
    EXPECT_THROW(hung.result(), mp::TaskTimeout);
    EXPECT_EQ(ex.submit(cube, 2).result(), 8);
    ex.shutdown(false);
}

} // namespace
