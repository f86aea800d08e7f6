// Pool: results and order under every start method, exceptions, crashes, timeouts, memory
// caps, maxtasksperchild, initializers, and lambdas under fork.
#include "batchproc/mp/pool.hpp"

#include "mp_test_support.hpp"

#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

namespace mp = batchproc::mp;

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif

int square(int x) { return x * x; }
BATCHPROC_MP_TASK(square);

long add(int a, long b) { return a + b; }
BATCHPROC_MP_TASK(add);

std::string greet(std::string who, int times) {
    std::string out;
    for (int i = 0; i < times; ++i) out += "hi " + who + ";";
    return out;
}
BATCHPROC_MP_TASK(greet);

struct ParseError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

int fail_on_three(int x) {
    if (x == 3) throw ParseError("bad input 3");
    return x;
}
BATCHPROC_MP_TASK(fail_on_three);

// Crashes its worker on x == 5 (SIGSEGV, as a wild pointer would), else returns x.
int crash_on_five(int x) {
    if (x == 5) {
        ::signal(SIGSEGV, SIG_DFL); // a sanitizer's handler would report it and exit with 1
        ::raise(SIGSEGV);
    }
    return x;
}
BATCHPROC_MP_TASK(crash_on_five);

int exit_on_two(int x) {
    if (x == 2) ::_exit(7);
    return x;
}
BATCHPROC_MP_TASK(exit_on_two);

int sleep_ms(int ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return ms;
}
BATCHPROC_MP_TASK(sleep_ms);

int worker_pid(int) { return static_cast<int>(::getpid()); }
BATCHPROC_MP_TASK(worker_pid);

int g_init_runs = 0;
int g_init_value = 0;
void init_worker(int value) {
    ++g_init_runs;
    g_init_value = value;
}
BATCHPROC_MP_TASK(init_worker);

// How many times the initializer ran in this worker, and with what.
std::pair<int, int> init_state(int) { return {g_init_runs, g_init_value}; }
BATCHPROC_MP_TASK(init_state);

std::size_t allocate_mib(int mib) {
    std::vector<char> block(static_cast<std::size_t>(mib) << 20, 1);
    return block.size();
}
BATCHPROC_MP_TASK(allocate_mib);

std::vector<int> range(int n) {
    std::vector<int> v(static_cast<std::size_t>(n));
    std::iota(v.begin(), v.end(), 0);
    return v;
}

class PoolTest : public mp_test::MpTest, public ::testing::WithParamInterface<mp::StartMethod> {
protected:
    mp::PoolOptions options() const {
        mp::PoolOptions o;
        o.start_method = GetParam();
        return o;
    }
};

std::string method_name(const ::testing::TestParamInfo<mp::StartMethod> &info) { return mp::to_string(info.param); }

TEST_P(PoolTest, MapStarmapApplyInOrder) {
    mp::Pool pool(3, options());
    const auto xs = range(1000);
    for (std::size_t chunksize : {0, 1, 7, 64, 5000}) {
        const std::vector<int> squares = pool.map(square, xs, chunksize);
        ASSERT_EQ(squares.size(), xs.size());
        for (std::size_t i = 0; i < xs.size(); ++i) ASSERT_EQ(squares[i], xs[i] * xs[i]) << "chunksize " << chunksize;
    }
    const std::vector<std::tuple<int, long>> pairs{{1, 2}, {3, 4}, {5, 6}};
    EXPECT_EQ(pool.starmap(add, pairs), (std::vector<long>{3, 7, 11}));
    const std::vector<std::pair<std::string, int>> words{{"a", 1}, {"b", 2}};
    EXPECT_EQ(pool.starmap(greet, words), (std::vector<std::string>{"hi a;", "hi b;hi b;"}));
    EXPECT_EQ(pool.apply(square, 5), 25);
    EXPECT_EQ(pool.apply(greet, "x", 2), "hi x;hi x;");
    EXPECT_TRUE(pool.map(square, std::vector<int>{}).empty());
}

TEST_P(PoolTest, AsyncResults) {
    mp::Pool pool(2, options());
    auto many = pool.map_async(square, range(100), 10);
    auto one = pool.apply_async(add, 2, 40L);
    EXPECT_EQ(one.get(), 42);
    EXPECT_TRUE(one.ready());
    EXPECT_TRUE(one.successful());
    const auto squares = many.get(60.0);
    EXPECT_EQ(squares[99], 99 * 99);
    EXPECT_TRUE(many.wait(1.0));

    auto slow = pool.apply_async(sleep_ms, 2000);
    EXPECT_FALSE(slow.ready());
    EXPECT_THROW(slow.successful(), mp::ValueError);
    EXPECT_THROW(slow.get(0.05), mp::TimeoutError);
    EXPECT_FALSE(slow.wait(0.01));
    EXPECT_EQ(slow.get(), 2000);
}

TEST_P(PoolTest, ImapAndImapUnordered) {
    mp::Pool pool(3, options());
    std::vector<int> ordered;
    for (int v : pool.imap(square, range(200), 3)) ordered.push_back(v);
    ASSERT_EQ(ordered.size(), 200u);
    for (int i = 0; i < 200; ++i) EXPECT_EQ(ordered[i], i * i);

    // Unordered: every result once; a slow first task comes last.
    std::vector<int> delays{1500, 1, 2, 3, 4, 5};
    std::vector<int> got;
    for (int v : pool.imap_unordered(sleep_ms, delays)) got.push_back(v);
    ASSERT_EQ(got.size(), delays.size());
    EXPECT_EQ(got.back(), 1500);
    std::sort(got.begin(), got.end());
    std::sort(delays.begin(), delays.end());
    EXPECT_EQ(got, delays);

    auto it = pool.imap(sleep_ms, std::vector<int>{1500});
    EXPECT_THROW(it.next(0.05), mp::TimeoutError);
    EXPECT_EQ(it.next(), 1500);
    EXPECT_FALSE(it.has_next());
}

TEST_P(PoolTest, ExceptionReachesCallerWithTypeAndMessage) {
    mp::Pool pool(2, options());
    try {
        pool.map(fail_on_three, range(10), 4);
        FAIL() << "no exception";
    } catch (const mp::TaskError &e) {
        EXPECT_NE(e.type_name().find("ParseError"), std::string::npos) << e.type_name();
        EXPECT_EQ(e.message(), "bad input 3");
        EXPECT_NE(std::string(e.what()).find("bad input 3"), std::string::npos);
    }
    auto r = pool.apply_async(fail_on_three, 3);
    r.wait();
    EXPECT_FALSE(r.successful());
    // imap: only the failed item throws; the others arrive.
    auto it = pool.imap(fail_on_three, range(6));
    int ok = 0, failed = 0;
    while (it.has_next()) {
        try {
            it.next();
            ++ok;
        } catch (const mp::TaskError &) {
            ++failed;
        }
    }
    EXPECT_EQ(ok, 5);
    EXPECT_EQ(failed, 1);
    EXPECT_EQ(pool.apply(square, 4), 16); // the pool goes on
}

TEST_P(PoolTest, CrashFailsOnlyItsOwnTask) {
    mp::Pool pool(2, options());
    for (std::size_t chunksize : {1, 4}) {
        auto it = pool.imap(crash_on_five, range(12), chunksize);
        std::vector<int> results;
        int crashes = 0;
        while (it.has_next()) {
            try {
                results.push_back(it.next());
            } catch (const mp::WorkerCrashed &e) {
                ++crashes;
                if (kAsan) {
                    // AddressSanitizer catches SIGSEGV and exits with code 1 instead.
                    EXPECT_TRUE(e.signal() == SIGSEGV || e.exitcode() == 1) << e.what();
                } else {
                    EXPECT_EQ(e.signal(), SIGSEGV);
                    EXPECT_NE(std::string(e.what()).find("SIGSEGV"), std::string::npos) << e.what();
                }
            }
        }
        EXPECT_EQ(crashes, 1) << "chunksize " << chunksize;
        std::vector<int> expected = range(12);
        expected.erase(expected.begin() + 5);
        EXPECT_EQ(results, expected);
    }
    auto exited = pool.apply_async(exit_on_two, 2);
    try {
        exited.get();
        FAIL();
    } catch (const mp::WorkerCrashed &e) {
        EXPECT_EQ(e.exitcode(), 7);
        EXPECT_NE(std::string(e.what()).find("exited with code 7"), std::string::npos) << e.what();
    }
    // A new worker takes the dead one's place (the pool's thread starts it, so it may come a
    // moment after the map below is done): the pool goes on, and has two workers again.
    EXPECT_EQ(pool.map(square, range(50)).back(), 49 * 49);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (pool.worker_pids().size() != 2u && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(pool.worker_pids().size(), 2u);
}

TEST_P(PoolTest, TimeoutKillsOnlyTheSlowTask) {
    mp::PoolOptions o = options();
    o.timeout = 0.5;
    mp::Pool pool(2, o);
    const auto before = pool.map(worker_pid, range(2), 1);
    auto slow = pool.apply_async(sleep_ms, 30000);
    auto quick = pool.map_async(sleep_ms, std::vector<int>{10, 20, 30}, 1);
    const auto start = std::chrono::steady_clock::now();
    EXPECT_THROW(slow.get(), mp::TaskTimeout);
    EXPECT_LT(mp_test::seconds_since(start), 20.0);
    EXPECT_EQ(quick.get(), (std::vector<int>{10, 20, 30}));
    try {
        pool.apply(sleep_ms, 30000);
    } catch (const mp::TimeoutError &e) {
        EXPECT_NE(std::string(e.what()).find("timeout"), std::string::npos) << e.what();
    }
    EXPECT_EQ(pool.apply(square, 3), 9);
}

TEST_P(PoolTest, MaxTasksPerChildRecyclesWorkers) {
    mp::PoolOptions o = options();
    o.maxtasksperchild = 3;
    mp::Pool pool(2, o);
    const auto pids = pool.map(worker_pid, range(30), 1);
    const std::set<int> distinct(pids.begin(), pids.end());
    EXPECT_GE(distinct.size(), 10u); // 30 tasks, at most 3 per worker
    for (int pid : distinct) EXPECT_LE(std::count(pids.begin(), pids.end(), pid), 3);
}

TEST_P(PoolTest, InitializerRunsOncePerWorker) {
    mp::PoolOptions o = options();
    o.initializer = mp::Initializer(init_worker, 42);
    mp::Pool pool(3, o);
    const auto states = pool.map(init_state, range(60), 1);
    for (const auto &s : states) {
        EXPECT_EQ(s.first, 1);
        EXPECT_EQ(s.second, 42);
    }
}

TEST_P(PoolTest, CloseJoinAndTerminate) {
    mp::Pool pool(2, options());
    auto r = pool.map_async(sleep_ms, std::vector<int>{50, 50, 50});
    pool.close();
    EXPECT_THROW(pool.apply(square, 1), mp::ValueError);
    pool.join();
    EXPECT_TRUE(r.ready());
    EXPECT_EQ(r.get(), (std::vector<int>{50, 50, 50}));

    mp::Pool other(1, options());
    auto long_one = other.apply_async(sleep_ms, 30000);
    auto queued = other.apply_async(square, 2);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    other.terminate();
    EXPECT_THROW(long_one.get(), mp::CancelledError);
    EXPECT_TRUE(queued.ready());
    other.join();
}

TEST_P(PoolTest, UnregisteredFunctionsNeedFork) {
    mp::Pool pool(1, options());
    if (GetParam() == mp::StartMethod::fork) {
        const int offset = 100;
        EXPECT_EQ(pool.map([offset](int x) { return x + offset; }, range(3)), (std::vector<int>{100, 101, 102}));
    } else {
        EXPECT_THROW(pool.map([](int x) { return x; }, range(3)), mp::TaskNotRegistered);
    }
}

INSTANTIATE_TEST_SUITE_P(StartMethods, PoolTest,
                         ::testing::Values(mp::StartMethod::fork, mp::StartMethod::spawn, mp::StartMethod::forkserver),
                         method_name);

class PoolForkTest : public mp_test::MpTest {};

TEST_F(PoolForkTest, LambdasSeeStateAsAtTheirCall) {
    mp::PoolOptions o;
    o.start_method = mp::StartMethod::fork;
    mp::Pool pool(2, o);
    std::vector<int> table{10, 20, 30};
    // Captures by reference: the workers are forked for this call and see `table` as it is.
    EXPECT_EQ(pool.map([&table](int i) { return table[static_cast<std::size_t>(i)]; }, range(3)),
              (std::vector<int>{10, 20, 30}));
    const auto first_pids = pool.worker_pids();
    // The same callable again: the same workers.
    EXPECT_EQ(pool.map([&table](int i) { return table[static_cast<std::size_t>(i)]; }, range(3)).size(), 3u);
    table[0] = 99;
    // A new callable (a new captured string): fresh workers, which see the change.
    const std::string suffix = "!";
    const auto tagged =
        pool.map([&table, suffix](int i) { return std::to_string(table[static_cast<std::size_t>(i)]) + suffix; },
                 range(3));
    EXPECT_EQ(tagged, (std::vector<std::string>{"99!", "20!", "30!"}));
    EXPECT_NE(pool.worker_pids(), first_pids);
    // A std::function and a generic lambda work too.
    std::function<int(int)> twice = [](int x) { return 2 * x; };
    EXPECT_EQ(pool.apply(twice, 21), 42);
    EXPECT_EQ(pool.apply([](auto a, auto b) { return a + b; }, std::string("a"), std::string("b")), "ab");
    // An initializer may be any callable.
    int seen = 0;
    mp::PoolOptions with_init = o;
    with_init.initializer = mp::Initializer([&seen](int v) { seen = v; }, 7);
    mp::Pool initialized(2, with_init);
    EXPECT_EQ(initialized.map([&seen](int) { return seen; }, range(4)), (std::vector<int>{7, 7, 7, 7}));
}

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
TEST_F(PoolForkTest, MemoryCapFailsTheTaskWithAClearMessage) {
    mp::PoolOptions o;
    o.max_memory = std::size_t(512) << 20;
    mp::Pool pool(1, o);
    EXPECT_EQ(pool.apply(allocate_mib, 16), std::size_t(16) << 20);
    try {
        pool.apply(allocate_mib, 2048);
        FAIL() << "no exception";
    } catch (const mp::TaskError &e) {
        EXPECT_EQ(e.type_name(), "std::bad_alloc");
        EXPECT_NE(e.message().find("512 MiB"), std::string::npos) << e.message();
    }
    EXPECT_EQ(pool.apply(square, 6), 36);
}
#endif

TEST_F(PoolForkTest, AFailingInitializerFailsTasksInsteadOfHanging) {
    mp::PoolOptions o;
    o.initializer = mp::Initializer([] { throw std::runtime_error("no config"); });
    mp::Pool pool(2, o);
    auto r = pool.map_async(square, range(4), 1);
    ASSERT_TRUE(r.wait(60.0)) << "tasks of a pool whose workers cannot start must fail, not wait for ever";
    try {
        r.get();
        FAIL();
    } catch (const mp::WorkerCrashed &e) {
        EXPECT_NE(std::string(e.what()).find("initializer"), std::string::npos) << e.what();
    }
}

TEST_F(PoolForkTest, DestructorTerminatesWorkers) {
    std::vector<int> pids;
    {
        mp::Pool pool(2);
        pids = pool.map(worker_pid, range(4), 1);
        auto never = pool.apply_async(sleep_ms, 60000);
        (void)never;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    for (int pid : pids) EXPECT_NE(::kill(pid, 0), 0) << "worker " << pid << " outlived its pool";
}

} // namespace
