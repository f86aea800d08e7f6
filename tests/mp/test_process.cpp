// Process: lifecycle, exit codes, signals, daemon children, names, and spawn from this very
// test program (no hook in main: the library's static initializer runs the child's task).
#include "batchproc/mp/connection.hpp"
#include "batchproc/mp/process.hpp"
#include "batchproc/mp/queue.hpp"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace mp = batchproc::mp;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void exit_with(int code) { throw mp::SystemExit{code}; }
BATCHPROC_MP_TASK(exit_with);

void add_and_exit(int a, int b) { throw mp::SystemExit{a + b}; }
BATCHPROC_MP_TASK(add_and_exit);

void sleep_for_seconds(double seconds) { std::this_thread::sleep_for(std::chrono::duration<double>(seconds)); }
BATCHPROC_MP_TASK(sleep_for_seconds);

// Sends this process's and its parent's pid and name.
void report_family(mp::Connection<std::vector<std::string>> out) {
    const mp::ProcessInfo me = mp::current_process();
    const auto parent = mp::parent_process();
    out.send({std::to_string(me.pid), me.name, parent ? std::to_string(parent->pid) : "none",
              parent ? parent->name : "none"});
}
BATCHPROC_MP_TASK(report_family);

void throw_runtime_error(std::string message) { throw std::runtime_error(message); }
BATCHPROC_MP_TASK(throw_runtime_error);

int not_registered(int x) { return x; }

// stderr of this process (and so of the children it starts meanwhile) into a file.
class StderrCapture {
public:
    StderrCapture() {
        std::fflush(stderr);
        file_ = std::tmpfile();
        saved_ = dup(2);
        dup2(fileno(file_), 2);
    }
    ~StderrCapture() { restore(); }
    std::string text() {
        restore();
        std::string out;
        std::rewind(file_);
        char buffer[4096];
        size_t n;
        while ((n = std::fread(buffer, 1, sizeof buffer, file_)) > 0) out.append(buffer, n);
        return out;
    }

private:
    void restore() {
        if (saved_ < 0) return;
        std::fflush(stderr);
        dup2(saved_, 2);
        close(saved_);
        saved_ = -1;
    }
    FILE *file_ = nullptr;
    int saved_ = -1;
};

// Waits (at most `seconds`) for `pid`, a child of this process or an orphan it adopted as
// subreaper; returns the wait status, or -1 if it did not end.
int wait_adopted(int pid, double seconds) {
    const auto start = std::chrono::steady_clock::now();
    while (seconds_since(start) < seconds) {
        int status = 0;
        const pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) return status;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
}

const mp::Context fork_ctx = mp::get_context(mp::StartMethod::fork);
const mp::Context spawn_ctx = mp::get_context(mp::StartMethod::spawn);

} // namespace

TEST(Process, BeforeStart) {
    mp::Process p(fork_ctx, [] {});
    EXPECT_EQ(p.pid(), 0);
    EXPECT_FALSE(p.is_alive());
    EXPECT_FALSE(p.exitcode().has_value());
    EXPECT_EQ(p.sentinel(), -1);
    EXPECT_EQ(p.name().rfind("Process-", 0), 0u) << p.name();
    EXPECT_THROW(p.join(), mp::ProcessError);
    p.set_name("worker");
    EXPECT_EQ(p.name(), "worker");
}

TEST(Process, NamesCountUp) {
    mp::Process a(fork_ctx, [] {});
    mp::Process b(fork_ctx, [] {});
    const int na = std::stoi(a.name().substr(8));
    const int nb = std::stoi(b.name().substr(8));
    EXPECT_EQ(nb, na + 1);
}

TEST(Process, ForkRunsALambdaWithCaptures) {
    const std::string text = "captured";
    std::vector<int> numbers{1, 2, 3};
    mp::Process p(fork_ctx, [&text, numbers](int extra) {
        if (text == "captured" && numbers.size() == 3 && extra == 4) throw mp::SystemExit{numbers[2] + extra};
    },
                  4);
    p.start();
    EXPECT_GT(p.pid(), 0);
    p.join();
    EXPECT_EQ(p.exitcode(), 7);
    EXPECT_FALSE(p.is_alive());
}

TEST(Process, NormalReturnIsExitCodeZero) {
    mp::Process p(fork_ctx, [] {});
    p.start();
    p.join();
    EXPECT_EQ(p.exitcode(), 0);
}

TEST(Process, ExceptionGivesExitCodeOneAndItsTypeAndMessageOnStderr) {
    std::string err;
    {
        StderrCapture capture;
        mp::Process p(fork_ctx, [] { throw std::invalid_argument("no such thing"); });
        p.start();
        p.join();
        EXPECT_EQ(p.exitcode(), 1);
        err = capture.text();
    }
    EXPECT_NE(err.find("std::invalid_argument: no such thing"), std::string::npos) << err;
    EXPECT_NE(err.find("Process-"), std::string::npos) << err;
}

TEST(Process, AbortGivesMinusSIGABRT) {
    mp::Process p(fork_ctx, [] { std::abort(); });
    p.start();
    p.join();
    EXPECT_EQ(p.exitcode(), -SIGABRT);
}

TEST(Process, SegfaultGivesMinusSIGSEGV) {
    mp::Process p(fork_ctx, [] {
        std::signal(SIGSEGV, SIG_DFL); // a sanitizer's handler would turn it into an exit code
        std::raise(SIGSEGV);
    });
    p.start();
    p.join();
    EXPECT_EQ(p.exitcode(), -SIGSEGV);
}

TEST(Process, JoinWithTimeoutOnASleepingChildReturnsFalse) {
    mp::Process p(fork_ctx, [] { std::this_thread::sleep_for(std::chrono::seconds(60)); });
    p.start();
    const auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(p.join(0.3));
    EXPECT_GE(seconds_since(start), 0.25);
    EXPECT_TRUE(p.is_alive());
    EXPECT_FALSE(p.exitcode().has_value());
    p.terminate();
    EXPECT_TRUE(p.join(30.0));
    EXPECT_EQ(p.exitcode(), -SIGTERM);
    EXPECT_FALSE(p.is_alive());
}

TEST(Process, KillGivesMinusSIGKILL) {
    mp::Process p(fork_ctx, [] {
        std::signal(SIGTERM, SIG_IGN); // only SIGKILL ends it
        std::this_thread::sleep_for(std::chrono::seconds(60));
    });
    p.start();
    p.kill();
    p.join();
    EXPECT_EQ(p.exitcode(), -SIGKILL);
    p.terminate(); // after the end: nothing happens
}

TEST(Process, CannotStartTwice) {
    mp::Process p(fork_ctx, [] {});
    p.start();
    EXPECT_THROW(p.start(), mp::ProcessError);
    p.join();
}

TEST(Process, DaemonFlagIsSetBeforeStartOnly) {
    mp::Process p(fork_ctx, [] {});
    EXPECT_FALSE(p.daemon());
    p.set_daemon(true);
    EXPECT_TRUE(p.daemon());
    p.start();
    EXPECT_THROW(p.set_daemon(false), mp::ProcessError);
    p.join();
}

TEST(Process, DaemonChildDiesWhenItsParentDies) {
    // Orphans come to this process, so that the daemon's end can be waited for here.
    ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    auto [receiver, sender] = mp::Pipe<int>();
    mp::Process intermediate(fork_ctx, [sender = sender]() mutable {
        mp::Process daemon(mp::get_context(mp::StartMethod::fork),
                           [] { std::this_thread::sleep_for(std::chrono::seconds(60)); });
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
    EXPECT_EQ(intermediate.exitcode(), -SIGKILL);
    const int status = wait_adopted(daemon_pid, 30.0);
    if (status == -1) kill(daemon_pid, SIGKILL);
    ASSERT_NE(status, -1) << "the daemon child outlived its parent";
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

TEST(Process, NonDaemonChildSurvivesItsParent) {
    ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    auto [receiver, sender] = mp::Pipe<int>();
    mp::Process intermediate(fork_ctx, [sender = sender]() mutable {
        mp::Process child(mp::get_context(mp::StartMethod::fork),
                          [] { std::this_thread::sleep_for(std::chrono::milliseconds(500)); });
        child.start();
        sender.send(child.pid());
        std::this_thread::sleep_for(std::chrono::seconds(60));
    });
    intermediate.start();
    ASSERT_TRUE(receiver.poll(30.0));
    const int child_pid = receiver.recv();
    intermediate.kill();
    intermediate.join();
    const int status = wait_adopted(child_pid, 30.0);
    ASSERT_NE(status, -1);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST(Process, DestroyingARunningDaemonProcessTerminatesIt) {
    int pid = 0;
    {
        mp::Process p(fork_ctx, [] { std::this_thread::sleep_for(std::chrono::seconds(60)); });
        p.set_daemon(true);
        p.start();
        pid = p.pid();
    }
    EXPECT_EQ(kill(pid, 0), -1); // reaped: no such process
}

TEST(Process, MovedProcessKeepsTheChild) {
    mp::Process a(fork_ctx, [] { throw mp::SystemExit{3}; });
    a.start();
    mp::Process b(std::move(a));
    EXPECT_EQ(a.pid(), 0);
    b.join();
    EXPECT_EQ(b.exitcode(), 3);
}

TEST(Process, CurrentAndParentProcess) {
    EXPECT_EQ(mp::current_process().name, "MainProcess");
    EXPECT_EQ(mp::current_process().pid, getpid());
    EXPECT_FALSE(mp::parent_process().has_value());
    for (const mp::Context &ctx : {fork_ctx, spawn_ctx}) {
        auto [receiver, sender] = mp::Pipe<std::vector<std::string>>();
        mp::Process p(ctx, report_family, sender);
        p.start();
        sender.close();
        const std::vector<std::string> family = receiver.recv();
        p.join();
        EXPECT_EQ(p.exitcode(), 0);
        ASSERT_EQ(family.size(), 4u);
        EXPECT_EQ(family[0], std::to_string(p.pid())) << to_string(ctx.start_method());
        EXPECT_EQ(family[1], p.name());
        EXPECT_EQ(family[2], std::to_string(getpid()));
        EXPECT_EQ(family[3], "MainProcess");
    }
}

TEST(Process, ChildrenOfAChildAreNamedAfterIt) {
    auto [receiver, sender] = mp::Pipe<std::string>();
    mp::Process p(fork_ctx, [sender = sender]() mutable {
        mp::Process inner(mp::get_context(mp::StartMethod::fork), [] {});
        sender.send(mp::current_process().name + " " + inner.name());
    });
    p.start();
    const std::string names = receiver.recv();
    p.join();
    EXPECT_EQ(names, p.name() + " " + p.name() + ":1");
}

// spawn, from this test program: its main has no hook, so the child runs its task from the
// library's static initializer and never reaches gtest's main.
TEST(ProcessSpawn, RunsARegisteredTaskWithArguments) {
    mp::Process p(spawn_ctx, add_and_exit, 20, 22);
    EXPECT_EQ(p.start_method(), mp::StartMethod::spawn);
    p.start();
    p.join();
    EXPECT_EQ(p.exitcode(), 42);
}

TEST(ProcessSpawn, ExceptionMessageReachesStderr) {
    std::string err;
    {
        StderrCapture capture;
        mp::Process p(spawn_ctx, throw_runtime_error, std::string("spawned and failed"));
        p.start();
        p.join();
        EXPECT_EQ(p.exitcode(), 1);
        err = capture.text();
    }
    EXPECT_NE(err.find("std::runtime_error: spawned and failed"), std::string::npos) << err;
}

TEST(ProcessSpawn, TerminateASleepingChild) {
    mp::Process p(spawn_ctx, sleep_for_seconds, 60.0);
    p.start();
    EXPECT_FALSE(p.join(0.2));
    p.terminate();
    EXPECT_TRUE(p.join(30.0));
    EXPECT_EQ(p.exitcode(), -SIGTERM);
}

TEST(ProcessSpawn, UnregisteredFunctionsAndLambdasAreRefusedAtConstruction) {
    EXPECT_THROW(mp::Process(spawn_ctx, not_registered, 1), mp::TaskNotRegistered);
    EXPECT_THROW(mp::Process(spawn_ctx, [] {}), mp::TaskNotRegistered);
    EXPECT_THROW(mp::Process(mp::get_context(mp::StartMethod::forkserver), [] {}), mp::TaskNotRegistered);
    // fork runs them.
    mp::Process p(fork_ctx, not_registered, 1);
    p.start();
    p.join();
    EXPECT_EQ(p.exitcode(), 0);
}

TEST(ProcessSpawn, SystemExitCodes) {
    for (int code : {0, 5, 255}) {
        mp::Process p(spawn_ctx, exit_with, code);
        p.start();
        p.join();
        EXPECT_EQ(p.exitcode(), code);
    }
}
