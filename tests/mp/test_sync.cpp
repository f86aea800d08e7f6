// Lock, RLock, Semaphore, BoundedSemaphore, Event, Condition and Barrier across real
// processes: made with fork(), and exec'd children that receive them through cereal.
// Holders and waiters are killed with SIGKILL to show that nothing is left wedged.
// Timings are asserted with generous bounds only.
#include "batchproc/mp/barrier.hpp"
#include "batchproc/mp/condition.hpp"
#include "batchproc/mp/errors.hpp"
#include "batchproc/mp/event.hpp"
#include "batchproc/mp/lock.hpp"
#include "batchproc/mp/semaphore.hpp"
#include "batchproc/mp/values.hpp"
#include "mp_test_support.hpp"

#include <csignal>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

using namespace batchproc::mp;
using mp_test::fork_child;
using mp_test::MpTest;
using mp_test::seconds_since;
using mp_test::wait_exit;
using Clock = std::chrono::steady_clock;

namespace {

// A child that takes `lock`, says so through `held`, and waits to be killed.
template <class L>
pid_t hold_until_killed(L lock, Event held, int depth = 1) {
    return fork_child([lock, held, depth]() mutable {
        for (int i = 0; i < depth; ++i) lock.acquire();
        held.set();
        for (;;) pause();
        return 0;
    });
}

void kill_and_reap(pid_t pid) {
    kill(pid, SIGKILL);
    EXPECT_EQ(wait_exit(pid), -SIGKILL);
}

int run_child_role(const std::string &role, const std::string &data) {
    if (role == "use_sync_objects") {
        Lock lock;
        Semaphore semaphore(0);
        Event go;
        Event done;
        Condition condition;
        Value<int> stage(0);
        mp_test::deserialize(data, lock, semaphore, go, done, condition, stage);
        if (!go.wait(30)) return 2;                         // the parent set it before spawning us
        if (!semaphore.acquire(true, 30)) return 3;        // one unit was released for us
        if (!lock.acquire(true, 30)) return 4;             // free by now
        lock.release();
        {
            std::lock_guard guard(condition);
            stage.value() = 1;
            condition.notify_all();
            if (!condition.wait_for([&] { return stage.value() == 2; }, 30)) return 5;
        }
        done.set();
        return 0;
    }
    if (role == "meet_at_barrier") {
        Barrier barrier; // empty until loaded, as a task argument is
        mp_test::deserialize(data, barrier);
        return static_cast<int>(barrier.wait(30)) + 10;
    }
    return 97;
}

} // namespace

using LockTest = MpTest;
using SemaphoreTest = MpTest;
using EventTest = MpTest;
using ConditionTest = MpTest;
using BarrierTest = MpTest;
using SyncExecTest = MpTest;

TEST_F(LockTest, ExcludesAnotherProcess) {
    Lock lock;
    ASSERT_TRUE(lock.acquire());
    EXPECT_TRUE(lock.is_owned());
    const pid_t child = fork_child([lock]() mutable { return lock.acquire(false) ? 1 : 0; });
    EXPECT_EQ(wait_exit(child), 0) << "the child took a lock the parent holds";
    lock.release();
    EXPECT_FALSE(lock.is_owned());
    const pid_t after = fork_child([lock]() mutable {
        if (!lock.try_lock()) return 1;
        lock.unlock();
        return 0;
    });
    EXPECT_EQ(wait_exit(after), 0);
}

TEST_F(LockTest, WorksWithTheStandardLockGuards) {
    Lock lock;
    {
        std::lock_guard guard(lock);
        EXPECT_TRUE(lock.is_owned());
    }
    EXPECT_FALSE(lock.is_owned());
    std::unique_lock unique(lock, std::try_to_lock);
    EXPECT_TRUE(unique.owns_lock());
}

TEST_F(LockTest, ReacquiringOrReleasingWronglyFailsInsteadOfDeadlocking) {
    Lock lock;
    EXPECT_THROW(lock.release(), std::logic_error);
    lock.acquire();
    EXPECT_FALSE(lock.acquire(false));
    EXPECT_FALSE(lock.acquire(true, 0.05));
    EXPECT_THROW(lock.acquire(), std::logic_error);
    std::thread other([&] { EXPECT_THROW(lock.release(), std::logic_error); });
    other.join();
    lock.release();
}

TEST_F(LockTest, AcquireTimesOutWhileAnotherProcessHoldsIt) {
    Lock lock;
    Event held;
    const pid_t holder = hold_until_killed(lock, held);
    ASSERT_TRUE(held.wait(30));
    const auto start = Clock::now();
    EXPECT_FALSE(lock.acquire(true, 0.3));
    const double waited = seconds_since(start);
    EXPECT_GE(waited, 0.25);
    EXPECT_LT(waited, 10.0);
    EXPECT_FALSE(lock.acquire(false));
    kill_and_reap(holder);
}

TEST_F(LockTest, AHolderKilledWithSigkillHandsTheLockToTheNextAndSaysSo) {
    Lock lock;
    Event held;
    const pid_t holder = hold_until_killed(lock, held);
    ASSERT_TRUE(held.wait(30));
    EXPECT_EQ(lock.repairs(), 0u);
    kill_and_reap(holder);

    ASSERT_TRUE(lock.acquire(true, 10));
    EXPECT_TRUE(lock.repaired());
    EXPECT_EQ(lock.repairs(), 1u);
    lock.release();
    // The next holding is an ordinary one again; the count stays.
    ASSERT_TRUE(lock.acquire(true, 10));
    EXPECT_FALSE(lock.repaired());
    EXPECT_EQ(lock.repairs(), 1u);
    lock.release();
}

TEST_F(LockTest, AWaiterBlockedWhenTheHolderIsKilledGetsTheLock) {
    Lock lock;
    Event held;
    const pid_t holder = hold_until_killed(lock, held);
    ASSERT_TRUE(held.wait(30));
    bool got = false;
    bool repaired = false;
    std::thread waiter([&] {
        got = lock.acquire(true, 30);
        repaired = lock.repaired();
        if (got) lock.release();
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    kill_and_reap(holder);
    waiter.join();
    EXPECT_TRUE(got);
    EXPECT_TRUE(repaired);
}

TEST_F(LockTest, RLockIsReentrantAndATakeoverDropsTheDeadHoldersLevels) {
    RLock lock;
    ASSERT_TRUE(lock.acquire());
    ASSERT_TRUE(lock.acquire());
    ASSERT_TRUE(lock.acquire(false));
    EXPECT_EQ(wait_exit(fork_child([lock]() mutable { return lock.acquire(false) ? 1 : 0; })), 0);
    lock.release();
    lock.release();
    EXPECT_TRUE(lock.is_owned());
    lock.release();
    EXPECT_FALSE(lock.is_owned());
    EXPECT_THROW(lock.release(), std::logic_error);

    Event held;
    const pid_t holder = hold_until_killed(lock, held, 3);
    ASSERT_TRUE(held.wait(30));
    kill_and_reap(holder);
    ASSERT_TRUE(lock.acquire(true, 10));
    EXPECT_TRUE(lock.repaired());
    lock.release(); // one release undoes our one level: the dead holder's three are gone
    EXPECT_FALSE(lock.is_owned());
    EXPECT_EQ(wait_exit(fork_child([lock]() mutable {
                  if (!lock.acquire(false)) return 1;
                  lock.release();
                  return 0;
              })),
              0);
}

TEST_F(SemaphoreTest, CountsUnitsAcrossProcesses) {
    Semaphore semaphore(2);
    EXPECT_EQ(semaphore.get_value(), 2u);
    ASSERT_TRUE(semaphore.acquire());
    ASSERT_TRUE(semaphore.acquire());
    EXPECT_FALSE(semaphore.acquire(false));
    EXPECT_EQ(semaphore.get_value(), 0u);
    // A child blocks until the parent gives a unit back.
    Event started;
    const pid_t child = fork_child([semaphore, started]() mutable {
        started.set();
        return semaphore.acquire(true, 30) ? 0 : 1;
    });
    ASSERT_TRUE(started.wait(30));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    semaphore.release();
    EXPECT_EQ(wait_exit(child), 0);
    EXPECT_EQ(semaphore.get_value(), 0u);
    semaphore.release(3); // an unbounded semaphore may go past its initial value
    EXPECT_EQ(semaphore.get_value(), 3u);
}

TEST_F(SemaphoreTest, NeverLetsMoreThanItsValueInAtOnce) {
    Semaphore semaphore(2);
    Value<int> inside(0);
    Value<int> most(0);
    std::vector<pid_t> children;
    for (int c = 0; c < 4; ++c) {
        children.push_back(fork_child([semaphore, inside, most]() mutable {
            for (int i = 0; i < 200; ++i) {
                if (!semaphore.acquire(true, 30)) return 1;
                {
                    std::lock_guard guard(inside.get_lock());
                    ++inside.value();
                    if (inside.value() > most.value()) most.value() = inside.value();
                }
                std::this_thread::yield();
                {
                    std::lock_guard guard(inside.get_lock());
                    --inside.value();
                }
                semaphore.release();
            }
            return 0;
        }));
    }
    for (pid_t child : children) EXPECT_EQ(wait_exit(child), 0);
    EXPECT_LE(most.get(), 2);
    EXPECT_GE(most.get(), 1);
    EXPECT_EQ(inside.get(), 0);
    EXPECT_EQ(semaphore.get_value(), 2u);
}

TEST_F(SemaphoreTest, AcquireTimesOut) {
    Semaphore semaphore(0);
    const auto start = Clock::now();
    EXPECT_FALSE(semaphore.acquire(true, 0.3));
    EXPECT_GE(seconds_since(start), 0.25);
    EXPECT_LT(seconds_since(start), 10.0);
}

TEST_F(SemaphoreTest, BoundedSemaphoreRefusesToGoPastItsInitialValue) {
    BoundedSemaphore semaphore(2);
    EXPECT_THROW(semaphore.release(), ValueError);
    EXPECT_EQ(semaphore.get_value(), 2u);
    ASSERT_TRUE(semaphore.acquire());
    semaphore.release();
    ASSERT_TRUE(semaphore.acquire());
    EXPECT_THROW(semaphore.release(2), ValueError);
    EXPECT_EQ(semaphore.get_value(), 1u);
    // The bound holds in another process too.
    EXPECT_EQ(wait_exit(fork_child([semaphore]() mutable {
                  semaphore.release();
                  try {
                      semaphore.release();
                  } catch (const ValueError &) {
                      return 0;
                  }
                  return 1;
              })),
              0);
}

TEST_F(EventTest, WakesAWaitingProcess) {
    Event event;
    EXPECT_FALSE(event.is_set());
    const pid_t child = fork_child([event]() mutable { return event.wait(30) ? 0 : 1; });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    event.set();
    EXPECT_EQ(wait_exit(child), 0);
    EXPECT_TRUE(event.is_set());
    EXPECT_TRUE(event.wait(0));
    event.clear();
    EXPECT_FALSE(event.is_set());
}

TEST_F(EventTest, WaitTimesOutAndReturnsFalse) {
    Event event;
    const auto start = Clock::now();
    EXPECT_FALSE(event.wait(0.3));
    EXPECT_GE(seconds_since(start), 0.25);
    EXPECT_LT(seconds_since(start), 10.0);
    EXPECT_FALSE(event.wait(0));
}

// The case that wedges glibc's process-shared condition variables (before 2.41): a waiter
// killed while it sleeps, then a wake-up. Several rounds, as the hang comes on the second.
TEST_F(EventTest, AWaiterKilledWhileWaitingWedgesNothing) {
    Event event;
    for (int round = 0; round < 4; ++round) {
        event.clear();
        Event started;
        const pid_t doomed = fork_child([event, started]() mutable {
            started.set();
            event.wait();
            return 0;
        });
        ASSERT_TRUE(started.wait(30));
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        kill_and_reap(doomed);
        const pid_t survivor = fork_child([event]() mutable { return event.wait(30) ? 0 : 1; });
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        event.set();
        EXPECT_EQ(wait_exit(survivor), 0) << "round " << round;
    }
}

TEST_F(ConditionTest, AConsumerProcessWaitsForWhatAProducerMakes) {
    Condition condition;
    Value<int> items(0, false);
    const pid_t consumer = fork_child([condition, items]() mutable {
        std::lock_guard guard(condition);
        if (!condition.wait_for([&] { return items.value() >= 3; }, 30)) return 1;
        return items.value() == 3 ? 0 : 2;
    });
    for (int i = 0; i < 3; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        std::lock_guard guard(condition);
        ++items.value();
        condition.notify();
    }
    EXPECT_EQ(wait_exit(consumer), 0);
}

namespace {

// Two children wait on `condition` (each exits 1 if notified, 0 if its wait timed out);
// returns once both wait, with the condition's lock held by the caller.
std::vector<pid_t> two_waiters(Condition &condition, Semaphore &ready) {
    std::vector<pid_t> children;
    for (int i = 0; i < 2; ++i) {
        children.push_back(fork_child([condition, ready]() mutable {
            condition.acquire();
            ready.release(); // we hold the lock until wait() lets go of it
            const bool notified = condition.wait(1.5);
            condition.release();
            return notified ? 1 : 0;
        }));
    }
    EXPECT_TRUE(ready.acquire(true, 30));
    EXPECT_TRUE(ready.acquire(true, 30));
    condition.acquire(); // only free once both children are inside wait()
    return children;
}

} // namespace

TEST_F(ConditionTest, NotifyWakesAtMostNWaiters) {
    Condition condition(Lock{});
    Semaphore ready(0);
    std::vector<pid_t> children = two_waiters(condition, ready);
    condition.notify(1);
    condition.release();
    int notified = 0;
    for (pid_t child : children) notified += wait_exit(child);
    EXPECT_EQ(notified, 1);

    children = two_waiters(condition, ready);
    condition.notify_all();
    condition.release();
    notified = 0;
    for (pid_t child : children) notified += wait_exit(child);
    EXPECT_EQ(notified, 2);
}

TEST_F(ConditionTest, WaitTimesOutAndKeepsAnRLocksDepth) {
    RLock lock;
    Condition condition(lock);
    condition.acquire();
    condition.acquire();
    const auto start = Clock::now();
    EXPECT_FALSE(condition.wait(0.3));
    EXPECT_GE(seconds_since(start), 0.25);
    EXPECT_LT(seconds_since(start), 10.0);
    EXPECT_TRUE(lock.is_owned());
    condition.release();
    EXPECT_TRUE(lock.is_owned());
    condition.release();
    EXPECT_FALSE(lock.is_owned());
    // While we wait, the lock is free: another process takes it and notifies us.
    Event waiting;
    const pid_t child = fork_child([condition, waiting]() mutable {
        if (!waiting.wait(30)) return 2;
        if (!condition.acquire(true, 30)) return 1;
        condition.notify();
        condition.release();
        return 0;
    });
    condition.acquire();
    condition.acquire();
    waiting.set();
    EXPECT_TRUE(condition.wait(30));
    EXPECT_TRUE(lock.is_owned());
    condition.release();
    condition.release();
    EXPECT_EQ(wait_exit(child), 0);
}

TEST_F(ConditionTest, WaitAndNotifyRequireTheLock) {
    Condition condition;
    EXPECT_THROW(condition.wait(0.01), std::logic_error);
    EXPECT_THROW(condition.notify(), std::logic_error);
    EXPECT_THROW(condition.notify_all(), std::logic_error);
}

TEST_F(BarrierTest, ThreeProcessesMeetRepeatedlyWithDistinctIndices) {
    constexpr int kCycles = 5;
    Value<int> actions(0);
    Barrier barrier(3, [actions]() mutable { ++actions.value(); });
    Array<int> seen(3 * kCycles); // the index each party got in each cycle
    std::vector<pid_t> children;
    for (int party = 1; party <= 2; ++party) {
        children.push_back(fork_child([barrier, seen, party]() mutable {
            for (int cycle = 0; cycle < kCycles; ++cycle) {
                seen[cycle * 3 + party] = static_cast<int>(barrier.wait(30)) + 1;
            }
            return 0;
        }));
    }
    for (int cycle = 0; cycle < kCycles; ++cycle) seen[cycle * 3] = static_cast<int>(barrier.wait(30)) + 1;
    for (pid_t child : children) EXPECT_EQ(wait_exit(child), 0);
    EXPECT_EQ(actions.get(), kCycles);
    for (int cycle = 0; cycle < kCycles; ++cycle) {
        std::set<int> indices{seen[cycle * 3], seen[cycle * 3 + 1], seen[cycle * 3 + 2]};
        EXPECT_EQ(indices, (std::set<int>{1, 2, 3})) << "cycle " << cycle;
    }
    EXPECT_EQ(barrier.parties(), 3u);
    EXPECT_EQ(barrier.n_waiting(), 0u);
    EXPECT_FALSE(barrier.broken());
}

TEST_F(BarrierTest, AbortBreaksItForWaitersUntilReset) {
    Barrier barrier(2);
    const pid_t child = fork_child([barrier]() mutable {
        try {
            barrier.wait(30);
        } catch (const BrokenBarrierError &) {
            return 0;
        }
        return 1;
    });
    while (barrier.n_waiting() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    barrier.abort();
    EXPECT_EQ(wait_exit(child), 0);
    EXPECT_TRUE(barrier.broken());
    EXPECT_THROW(barrier.wait(1), BrokenBarrierError);
    barrier.reset();
    EXPECT_FALSE(barrier.broken());
    const pid_t again = fork_child([barrier]() mutable { return static_cast<int>(barrier.wait(30)); });
    const unsigned mine = barrier.wait(30);
    const int theirs = wait_exit(again);
    EXPECT_EQ(mine + static_cast<unsigned>(theirs), 1u);
}

TEST_F(BarrierTest, ResetWhileAPartyWaitsBreaksItsWait) {
    Barrier barrier(2);
    const pid_t child = fork_child([barrier]() mutable {
        try {
            barrier.wait(30);
        } catch (const BrokenBarrierError &) {
            return 0;
        }
        return 1;
    });
    while (barrier.n_waiting() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    barrier.reset();
    EXPECT_EQ(wait_exit(child), 0);
    EXPECT_FALSE(barrier.broken());
}

TEST_F(BarrierTest, AWaitThatTimesOutBreaksTheBarrier) {
    Barrier barrier(2, {}, 0.3); // a default timeout
    const auto start = Clock::now();
    EXPECT_THROW(barrier.wait(), BrokenBarrierError);
    EXPECT_GE(seconds_since(start), 0.25);
    EXPECT_LT(seconds_since(start), 10.0);
    EXPECT_TRUE(barrier.broken());
}

TEST_F(BarrierTest, AnActionThatThrowsReachesItsCallerAndBreaksTheOthers) {
    Barrier barrier(2, [] { throw std::runtime_error("action failed"); });
    // The child's handle has the action too (fork copies it); make the parent arrive last.
    const pid_t child = fork_child([barrier]() mutable {
        try {
            barrier.wait(30);
        } catch (const BrokenBarrierError &) {
            return 0;
        }
        return 1;
    });
    while (barrier.n_waiting() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    EXPECT_THROW(barrier.wait(30), std::runtime_error);
    EXPECT_EQ(wait_exit(child), 0);
    EXPECT_TRUE(barrier.broken());
}

TEST_F(BarrierTest, APartyKilledWhileRunningTheActionBreaksTheBarrier) {
    Event in_action;
    Barrier barrier(2, [in_action]() mutable {
        in_action.set();
        for (;;) pause();
    });
    // The parent arrives first; the child arrives last, runs the action and is killed in it.
    int parent_result = -1;
    std::thread parent_party([&] {
        try {
            barrier.wait(30);
            parent_result = 1;
        } catch (const BrokenBarrierError &) {
            parent_result = 0;
        }
    });
    while (barrier.n_waiting() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const pid_t child = fork_child([barrier]() mutable { return static_cast<int>(barrier.wait(30)); });
    ASSERT_TRUE(in_action.wait(30));
    const auto killed_at = Clock::now();
    kill_and_reap(child);
    parent_party.join();
    EXPECT_EQ(parent_result, 0);
    EXPECT_LT(seconds_since(killed_at), 20.0) << "the death was noticed only when the wait timed out";
    EXPECT_TRUE(barrier.broken());
}

TEST_F(SyncExecTest, ObjectsReachAnExecdChildThroughCereal) {
    Lock lock;
    Semaphore semaphore(0);
    Event go;
    Event done;
    Condition condition;
    Value<int> stage(0, false);
    const std::string data = mp_test::serialize(lock, semaphore, go, done, condition, stage);
    go.set();
    semaphore.release();
    lock.acquire(); // held at spawn time; released below
    const pid_t child = mp_test::spawn_self("use_sync_objects", data);
    ASSERT_GT(child, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    lock.release();
    {
        std::unique_lock guard(condition);
        ASSERT_TRUE(condition.wait_for([&] { return stage.value() == 1; }, 30));
        stage.value() = 2;
        condition.notify_all();
    }
    EXPECT_TRUE(done.wait(30));
    EXPECT_EQ(wait_exit(child), 0);
    EXPECT_EQ(semaphore.get_value(), 0u);
}

TEST_F(SyncExecTest, ABarrierReachesAnExecdChildWithoutItsAction) {
    Value<int> actions(0);
    Barrier barrier(2, [actions]() mutable { ++actions.value(); });
    const pid_t child = mp_test::spawn_self("meet_at_barrier", mp_test::serialize(barrier));
    ASSERT_GT(child, 0);
    const unsigned mine = barrier.wait(30);
    const int theirs = wait_exit(child) - 10;
    EXPECT_EQ(mine + static_cast<unsigned>(theirs), 1u);
    // The action ran only if this process arrived last: the child's handle has none.
    EXPECT_EQ(actions.get(), mine == 1 ? 1 : 0);
    EXPECT_THROW(Barrier().wait(), std::logic_error);
}

TEST_F(SyncExecTest, LoadingTheWrongKindOfObjectFails) {
    Event event;
    const std::string data = mp_test::serialize(event);
    Lock lock;
    EXPECT_THROW(mp_test::deserialize(data, lock), std::runtime_error);
    Event same;
    mp_test::deserialize(data, same);
    event.set();
    EXPECT_TRUE(same.is_set());
}

namespace {
const bool child_dispatched = mp_test::dispatch_child(&run_child_role);
}
