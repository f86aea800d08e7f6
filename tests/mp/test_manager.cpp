// Manager: the shared dictionary and list, filled by processes of every start method, under
// concurrent writers, after a child is killed while using them, and once the manager is gone.
#include "mp_test_support.hpp"

#include "batchproc/mp/connection.hpp"
#include "batchproc/mp/lock.hpp"
#include "batchproc/mp/manager.hpp"
#include "batchproc/mp/process.hpp"
#include "batchproc/mp/queue.hpp"

#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace mp = batchproc::mp;

namespace {

using Dict = mp::DictProxy<std::string, int>;
using List = mp::ListProxy<int>;

constexpr int kWriters = 3;
constexpr int kItemsPerWriter = 100;

// What each of the three processes of the lesson does: its own keys, and items in one list.
void fill(Dict d, List l, int writer) {
    for (int i = 0; i < kItemsPerWriter; ++i) {
        d.set("w" + std::to_string(writer) + "-" + std::to_string(i), writer * 1000 + i);
        l.append(writer * 1000 + i);
    }
}
BATCHPROC_MP_TASK(fill);

// Every writer increments one shared key, a read-modify-write made atomic by a Lock.
void increment(Dict d, mp::Lock lock, int times) {
    for (int i = 0; i < times; ++i) {
        std::lock_guard guard(lock);
        d.set("n", d.get("n", 0) + 1);
    }
}
BATCHPROC_MP_TASK(increment);

// Appends until killed.
void append_forever(List l) {
    for (int i = 0;; ++i) l.append(i);
}
BATCHPROC_MP_TASK(append_forever);

void expect_filled(const Dict &d, const List &l) {
    EXPECT_EQ(d.size(), static_cast<size_t>(kWriters * kItemsPerWriter));
    for (int w = 0; w < kWriters; ++w)
        for (int i = 0; i < kItemsPerWriter; ++i)
            EXPECT_EQ(d.get("w" + std::to_string(w) + "-" + std::to_string(i)), w * 1000 + i);
    std::vector<int> got = l.to_vector();
    std::sort(got.begin(), got.end());
    std::vector<int> expected;
    for (int w = 0; w < kWriters; ++w)
        for (int i = 0; i < kItemsPerWriter; ++i) expected.push_back(w * 1000 + i);
    EXPECT_EQ(got, expected);
    // Each writer's items keep their order in the list.
    std::vector<int> last(kWriters, -1);
    for (int v : l.to_vector()) {
        EXPECT_GT(v % 1000, last[v / 1000]);
        last[v / 1000] = v % 1000;
    }
}

// Alive and not a zombie (an orphan waits for init to reap it).
bool running(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return false;
    const size_t paren = line.rfind(')');
    return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] != 'Z';
}

class ManagerAcrossProcesses : public ::testing::TestWithParam<mp::StartMethod> {};

std::string method_name(const ::testing::TestParamInfo<mp::StartMethod> &info) { return mp::to_string(info.param); }

} // namespace

TEST(Manager, DictBehavesAsPythonsDict) {
    mp::Manager manager;
    EXPECT_GT(manager.pid(), 0);
    auto d = manager.dict<std::string, int>();
    EXPECT_TRUE(d.empty());
    d.set("b", 2);
    d.set("a", 1);
    d.set("c", 3);
    d.set("b", 20); // replacing keeps the key's place
    EXPECT_EQ(d.get("a"), 1);
    EXPECT_EQ(d.get("zz"), std::nullopt);
    EXPECT_EQ(d.get("zz", -1), -1);
    EXPECT_EQ(d.at("b"), 20);
    EXPECT_THROW(d.at("zz"), mp::KeyError);
    EXPECT_TRUE(d.contains("c"));
    EXPECT_EQ(d.items(), (std::vector<std::pair<std::string, int>>{{"b", 20}, {"a", 1}, {"c", 3}}));
    EXPECT_EQ(d.keys(), (std::vector<std::string>{"b", "a", "c"}));
    EXPECT_EQ(d.values(), (std::vector<int>{20, 1, 3}));
    EXPECT_EQ(d.pop("a"), 1);
    EXPECT_THROW(d.pop("a"), mp::KeyError);
    EXPECT_EQ(d.pop("a", 7), 7);
    EXPECT_FALSE(d.erase("a"));
    EXPECT_TRUE(d.erase("c"));
    EXPECT_EQ(d.setdefault("b", 99), 20);
    EXPECT_EQ(d.setdefault("d", 4), 4);
    d.update(std::map<std::string, int>{{"e", 5}, {"b", 2}});
    EXPECT_EQ(d.items(), (std::vector<std::pair<std::string, int>>{{"b", 2}, {"d", 4}, {"e", 5}}));
    EXPECT_EQ(d.size(), 3u);
    d.clear();
    EXPECT_TRUE(d.empty());

    // Any serializable types, and a dictionary made with contents.
    auto points = manager.dict<std::pair<int, int>, std::vector<std::string>>(
        std::vector<std::pair<std::pair<int, int>, std::vector<std::string>>>{{{1, 2}, {"x", "y"}}});
    EXPECT_EQ(points.at({1, 2}), (std::vector<std::string>{"x", "y"}));
}

TEST(Manager, ListBehavesAsPythonsList) {
    mp::Manager manager;
    auto l = manager.list<int>();
    EXPECT_TRUE(l.empty());
    l.append(1);
    l.extend({2, 3, 4});
    EXPECT_EQ(l.size(), 4u);
    EXPECT_EQ(l.at(0), 1);
    EXPECT_EQ(l[-1], 4);
    EXPECT_THROW(l.at(4), mp::IndexError);
    EXPECT_THROW(l.at(-5), mp::IndexError);
    l.set(-2, 30);
    l.insert(0, 0);
    l.insert(100, 5); // clamped, as Python
    EXPECT_EQ(l.to_vector(), (std::vector<int>{0, 1, 2, 30, 4, 5}));
    EXPECT_EQ(l.pop(), 5);
    EXPECT_EQ(l.pop(0), 0);
    EXPECT_EQ(l.to_vector(), (std::vector<int>{1, 2, 30, 4}));
    l.clear();
    EXPECT_THROW(l.pop(), mp::IndexError);
    try {
        l.at(3);
        FAIL() << "no IndexError";
    } catch (const mp::IndexError &e) {
        EXPECT_NE(std::string(e.what()).find("index 3 out of range"), std::string::npos) << e.what();
    }

    auto words = manager.list<std::string>({"a", "b"});
    EXPECT_EQ(words.to_vector(), (std::vector<std::string>{"a", "b"}));
}

TEST(Manager, ProxiesOfOneManagerAreIndependentObjects) {
    mp::Manager manager;
    auto a = manager.list<int>();
    auto b = manager.list<int>();
    auto copy = a;
    copy.append(1);
    EXPECT_EQ(a.size(), 1u);
    EXPECT_EQ(b.size(), 0u);
}

// The lesson: three processes fill one dictionary and one list.
TEST_P(ManagerAcrossProcesses, ThreeProcessesFillADictAndAList) {
    const mp::Context ctx = mp::get_context(GetParam());
    mp::Manager manager;
    auto d = manager.dict<std::string, int>();
    auto l = manager.list<int>();
    std::vector<mp::Process> writers;
    for (int w = 0; w < kWriters; ++w) writers.push_back(ctx.Process(fill, d, l, w));
    for (auto &p : writers) p.start();
    for (auto &p : writers) {
        ASSERT_TRUE(p.join(120.0));
        EXPECT_EQ(p.exitcode(), 0);
    }
    expect_filled(d, l);
}

// Concurrent read-modify-writes of one key stay exact under a Lock.
TEST_P(ManagerAcrossProcesses, ConcurrentIncrementsUnderALockAreExact) {
    const mp::Context ctx = mp::get_context(GetParam());
    mp::Manager manager;
    auto d = manager.dict<std::string, int>();
    mp::Lock lock;
    std::vector<mp::Process> writers;
    for (int w = 0; w < kWriters; ++w) writers.push_back(ctx.Process(increment, d, lock, 50));
    for (auto &p : writers) p.start();
    for (auto &p : writers) {
        ASSERT_TRUE(p.join(120.0));
        EXPECT_EQ(p.exitcode(), 0);
    }
    EXPECT_EQ(d.at("n"), kWriters * 50);
}

// A child killed (SIGKILL) while it appends takes only its connection with it.
TEST_P(ManagerAcrossProcesses, AKilledChildLeavesTheManagerUsable) {
    const mp::Context ctx = mp::get_context(GetParam());
    mp::Manager manager;
    auto l = manager.list<int>();
    auto d = manager.dict<std::string, int>();
    mp::Process victim = ctx.Process(append_forever, l);
    victim.start();
    const auto start = std::chrono::steady_clock::now();
    while (l.size() < 200 && mp_test::seconds_since(start) < 60) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_GE(l.size(), 200u);
    victim.kill();
    victim.join();
    EXPECT_EQ(victim.exitcode(), -SIGKILL);

    // Whatever it appended is whole and in order, and the objects take new writers. (Its
    // last append may still be applied after the kill: a request sent whole before the
    // process died is carried out.)
    const std::vector<int> got = l.to_vector();
    for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], static_cast<int>(i));
    auto l2 = manager.list<int>();
    std::vector<mp::Process> writers;
    for (int w = 0; w < kWriters; ++w) writers.push_back(ctx.Process(fill, d, l2, w));
    for (auto &p : writers) p.start();
    for (auto &p : writers) {
        ASSERT_TRUE(p.join(120.0));
        EXPECT_EQ(p.exitcode(), 0);
    }
    expect_filled(d, l2);
    l.append(-1);
    std::vector<int> after = l.to_vector();
    EXPECT_EQ(std::count(after.begin(), after.end(), -1), 1);
    after.erase(std::remove(after.begin(), after.end(), -1), after.end());
    ASSERT_GE(after.size(), got.size());
    EXPECT_LE(after.size(), got.size() + 1);
    for (size_t i = 0; i < after.size(); ++i) ASSERT_EQ(after[i], static_cast<int>(i));
}

INSTANTIATE_TEST_SUITE_P(Each, ManagerAcrossProcesses,
                         ::testing::Values(mp::StartMethod::fork, mp::StartMethod::spawn, mp::StartMethod::forkserver),
                         method_name);

TEST(Manager, AProxyCanTravelThroughAQueue) {
    mp::Manager manager;
    auto d = manager.dict<std::string, int>();
    mp::Queue<Dict> q;
    mp::Process p(mp::get_context(mp::StartMethod::fork), [q]() mutable {
        Dict got = q.get();
        got.set("from child", 42);
    });
    p.start();
    q.put(d);
    p.join();
    EXPECT_EQ(p.exitcode(), 0);
    EXPECT_EQ(d.get("from child"), 42);
}

TEST(Manager, AProxyOfAManagerThatIsGoneThrowsManagerError) {
    Dict d;
    EXPECT_THROW(d.set("a", 1), mp::ManagerError); // never bound
    std::optional<mp::Manager> manager(std::in_place);
    d = manager->dict<std::string, int>();
    List l = manager->list<int>();
    d.set("a", 1);
    manager->shutdown();
    try {
        d.set("a", 2);
        FAIL() << "no ManagerError";
    } catch (const mp::ManagerError &e) {
        EXPECT_NE(std::string(e.what()).find("the manager is gone"), std::string::npos) << e.what();
    }
    EXPECT_THROW(l.append(1), mp::ManagerError); // again: a new connection is refused
    EXPECT_THROW(manager->list<int>(), mp::ManagerError);

    // Destroying the Manager shuts it down too, and a child sees the same error.
    manager.emplace();
    d = manager->dict<std::string, int>();
    manager.reset();
    mp::Process p(mp::get_context(mp::StartMethod::fork), [d]() mutable {
        try {
            d.set("a", 1);
        } catch (const mp::ManagerError &) {
            throw mp::SystemExit{7};
        }
    });
    p.start();
    p.join();
    EXPECT_EQ(p.exitcode(), 7);
}

TEST(Manager, AServerKilledFromOutsideGivesManagerError) {
    mp::Manager manager;
    auto l = manager.list<int>();
    l.append(1);
    ASSERT_EQ(kill(manager.pid(), SIGKILL), 0);
    EXPECT_THROW(l.append(2), mp::ManagerError); // the open connection is cut
    EXPECT_THROW(l.size(), mp::ManagerError);     // and a new one is refused
}

// The server keeps no descriptor of the program's: a Pipe made before the Manager still
// reaches end of file once its writer closes it.
TEST(Manager, TheServerHoldsNoPipeEndOpen) {
    auto [reader, writer] = mp::Pipe<int>();
    mp::Manager manager;
    auto d = manager.dict<int, int>();
    d.set(1, 1);
    writer.send(5);
    writer.close();
    EXPECT_EQ(reader.recv(), 5);
    EXPECT_TRUE(reader.poll(5.0));
    EXPECT_THROW(reader.recv(), mp::EOFError);
}

// The server does not outlive the process that made the Manager, even when it is SIGKILLed.
TEST(Manager, TheServerEndsWithItsOwner) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t owner = mp_test::fork_child([&] {
        close(fds[0]);
        mp::Manager manager;
        const int server = manager.pid();
        if (write(fds[1], &server, sizeof server) != sizeof server) return 2;
        pause(); // until killed
        return 0;
    });
    close(fds[1]);
    int server = 0;
    ASSERT_EQ(read(fds[0], &server, sizeof server), static_cast<ssize_t>(sizeof server));
    close(fds[0]);
    ASSERT_EQ(kill(server, 0), 0);
    kill(owner, SIGKILL);
    EXPECT_EQ(mp_test::wait_exit(owner), -SIGKILL);
    const auto start = std::chrono::steady_clock::now();
    while (running(server) && mp_test::seconds_since(start) < 10)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_FALSE(running(server)) << "the manager's server " << server << " outlived its owner";
}
