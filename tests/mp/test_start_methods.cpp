// The three start methods side by side: each runs registered tasks with arguments, passes
// queues and pipes, reports crashes and signals, and kills daemon children with their
// parent. This program has the run_if_child hook in its main, so its spawn and forkserver
// children become their role there (the static-initializer path is test_process's).
#include "batchproc/mp/connection.hpp"
#include "batchproc/mp/process.hpp"
#include "batchproc/mp/queue.hpp"
#include "batchproc/mp/start_method.hpp"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace mp = batchproc::mp;

namespace {

struct Point {
    int x = 0;
    int y = 0;
    template <class Archive>
    void serialize(Archive &ar) {
        ar(x, y);
    }
};

void check_arguments(std::string text, std::vector<int> numbers, Point point, std::map<std::string, double> table) {
    const bool ok = text == "hello" && numbers == std::vector<int>{1, 2, 3} && point.x == 4 && point.y == 5 &&
                    table.at("pi") == 3.25;
    throw mp::SystemExit{ok ? 42 : 1};
}
BATCHPROC_MP_TASK(check_arguments);

int square_into(mp::Queue<int> results, int x) {
    results.put(x * x);
    return x * x;
}
BATCHPROC_MP_TASK(square_into);

// `other_end` is the parent's end: a fork child inherits it, and must close it to see EOF
// when the parent closes its own (Python's rule too); spawn and forkserver children get a
// copy only because it is passed here.
void echo_until_eof(mp::Connection<std::string> connection, mp::Connection<std::string> other_end) {
    other_end.close();
    try {
        for (;;) connection.send("echo: " + connection.recv());
    } catch (const mp::EOFError &) {
    }
}
BATCHPROC_MP_TASK(echo_until_eof);

void crash_with_abort() { std::abort(); }
BATCHPROC_MP_TASK(crash_with_abort);

void sleep_for_seconds(double seconds) { std::this_thread::sleep_for(std::chrono::duration<double>(seconds)); }
BATCHPROC_MP_TASK(sleep_for_seconds);

void report_name(mp::Connection<std::string> out) { out.send(mp::current_process().name); }
BATCHPROC_MP_TASK(report_name);

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int wait_adopted(int pid, double seconds) {
    const auto start = std::chrono::steady_clock::now();
    while (seconds_since(start) < seconds) {
        int status = 0;
        if (waitpid(pid, &status, WNOHANG) == pid) return status;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
}

class StartMethods : public ::testing::TestWithParam<mp::StartMethod> {
protected:
    mp::Context ctx() const { return mp::get_context(GetParam()); }
};

std::string method_name(const ::testing::TestParamInfo<mp::StartMethod> &info) { return mp::to_string(info.param); }

} // namespace

TEST_P(StartMethods, RunsARegisteredTaskWithArgumentsAndGetsItsExitCode) {
    mp::Process p = ctx().Process(check_arguments, "hello", std::vector<int>{1, 2, 3}, Point{4, 5},
                                  std::map<std::string, double>{{"pi", 3.25}});
    EXPECT_EQ(p.start_method(), GetParam());
    p.start();
    EXPECT_GT(p.pid(), 0);
    p.join();
    EXPECT_EQ(p.exitcode(), 42);
}

TEST_P(StartMethods, ChildrenPutIntoAQueueArgument) {
    mp::Queue<int> results;
    std::vector<mp::Process> processes;
    for (int x = 1; x <= 4; ++x) processes.push_back(ctx().Process(square_into, results, x));
    for (auto &p : processes) p.start();
    int sum = 0;
    for (int i = 0; i < 4; ++i) {
        const std::optional<int> v = results.get(30.0);
        ASSERT_TRUE(v.has_value());
        sum += *v;
    }
    for (auto &p : processes) {
        p.join();
        EXPECT_EQ(p.exitcode(), 0);
    }
    EXPECT_EQ(sum, 1 + 4 + 9 + 16);
}

TEST_P(StartMethods, ConnectionArgumentAndEOFError) {
    auto [mine, theirs] = mp::Pipe<std::string>();
    mp::Process p = ctx().Process(echo_until_eof, theirs, mine);
    p.start();
    theirs.close(); // the child has its own copy now
    mine.send("one");
    EXPECT_EQ(mine.recv(), "echo: one");
    mine.send("two");
    EXPECT_EQ(mine.recv(), "echo: two");
    mine.close(); // the child sees EOFError and returns
    const bool ended = p.join(30.0);
    if (!ended) p.kill();
    EXPECT_TRUE(ended);
    p.join();
    EXPECT_EQ(p.exitcode(), 0);
}

TEST_P(StartMethods, ChildEndedByTheOtherEndClosing) {
    auto [mine, theirs] = mp::Pipe<std::string>();
    mp::Process p = ctx().Process(report_name, theirs);
    p.set_name("reporter");
    p.start();
    theirs.close();
    EXPECT_EQ(mine.recv(), "reporter");
    p.join();
    EXPECT_THROW(mine.recv(), mp::EOFError); // the child's end closed with it
}

TEST_P(StartMethods, AbortGivesMinusSIGABRT) {
    mp::Process p = ctx().Process(crash_with_abort);
    p.start();
    p.join();
    EXPECT_EQ(p.exitcode(), -SIGABRT);
}

TEST_P(StartMethods, JoinTimeoutThenTerminateThenKill) {
    mp::Process p = ctx().Process(sleep_for_seconds, 60.0);
    p.start();
    EXPECT_TRUE(p.is_alive());
    EXPECT_FALSE(p.join(0.2));
    p.terminate();
    ASSERT_TRUE(p.join(30.0));
    EXPECT_EQ(p.exitcode(), -SIGTERM);

    mp::Process q = ctx().Process(sleep_for_seconds, 60.0);
    q.start();
    q.kill();
    q.join();
    EXPECT_EQ(q.exitcode(), -SIGKILL);
}

TEST_P(StartMethods, SentinelBecomesReadableWhenTheChildEnds) {
    mp::Process p = ctx().Process(sleep_for_seconds, 0.1);
    p.start();
    ASSERT_GE(p.sentinel(), 0);
    p.join();
    EXPECT_EQ(p.exitcode(), 0);
}

TEST_P(StartMethods, DaemonChildDiesWhenItsParentDies) {
    ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    auto [receiver, sender] = mp::Pipe<int>();
    const mp::StartMethod method = GetParam();
    // The parent is a fork child; it starts the daemon with the method under test.
    mp::Process intermediate(mp::get_context(mp::StartMethod::fork), [sender = sender, method]() mutable {
        mp::Process daemon = mp::get_context(method).Process(sleep_for_seconds, 60.0);
        daemon.set_daemon(true);
        daemon.start();
        sender.send(daemon.pid());
        std::this_thread::sleep_for(std::chrono::seconds(60));
    });
    intermediate.start();
    ASSERT_TRUE(receiver.poll(30.0));
    const int daemon_pid = receiver.recv();
    intermediate.kill();
    intermediate.join();
    const int status = wait_adopted(daemon_pid, 30.0);
    if (status == -1) kill(daemon_pid, SIGKILL);
    ASSERT_NE(status, -1) << "the daemon child outlived its parent";
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
}

INSTANTIATE_TEST_SUITE_P(Each, StartMethods,
                         ::testing::Values(mp::StartMethod::fork, mp::StartMethod::spawn, mp::StartMethod::forkserver),
                         method_name);

TEST(StartMethod, NamesAndDefault) {
    EXPECT_STREQ(mp::to_string(mp::StartMethod::fork), "fork");
    EXPECT_STREQ(mp::to_string(mp::StartMethod::spawn), "spawn");
    EXPECT_STREQ(mp::to_string(mp::StartMethod::forkserver), "forkserver");
    EXPECT_EQ(mp::parse_start_method("forkserver"), mp::StartMethod::forkserver);
    EXPECT_FALSE(mp::parse_start_method("vfork").has_value());
    const auto all = mp::get_all_start_methods();
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all.front(), mp::StartMethod::fork); // the default comes first
}

TEST(StartMethod, SetOnceUnlessForced) {
    mp::set_start_method(mp::StartMethod::spawn, true);
    EXPECT_EQ(mp::get_start_method(), mp::StartMethod::spawn);
    EXPECT_THROW(mp::set_start_method(mp::StartMethod::forkserver), mp::ProcessError);
    EXPECT_EQ(mp::get_context().start_method(), mp::StartMethod::spawn);
    // A Process without a context uses the default one.
    mp::Process p(sleep_for_seconds, 0.0);
    EXPECT_EQ(p.start_method(), mp::StartMethod::spawn);
    p.start();
    p.join();
    EXPECT_EQ(p.exitcode(), 0);
    mp::set_start_method(mp::StartMethod::fork, true);
    EXPECT_EQ(mp::get_start_method(), mp::StartMethod::fork);
}

TEST(StartMethod, ForkserverIsReusedAcrossProcesses) {
    const auto ctx = mp::get_context(mp::StartMethod::forkserver);
    std::vector<int> parents;
    for (int i = 0; i < 3; ++i) {
        auto [receiver, sender] = mp::Pipe<std::string>();
        mp::Process p = ctx.Process(report_name, sender);
        p.start();
        sender.close();
        EXPECT_EQ(receiver.recv(), p.name());
        p.join();
        EXPECT_EQ(p.exitcode(), 0);
    }
}

int main(int argc, char **argv) {
    if (batchproc::mp::run_if_child(argc, argv)) return 0;
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
