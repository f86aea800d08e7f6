// Lesson 3: shared memory — a Value incremented by two processes without and with its lock, an
// Array, and a Manager's dictionary and list filled by three processes.
#include <batchproc/mp/manager.hpp>
#include <batchproc/mp/process.hpp>
#include <batchproc/mp/values.hpp>

#include <cstdio>
#include <mutex>
#include <string>
#include <thread>

namespace mp = batchproc::mp;

int main() {
    mp::Value<int> racy(0);
    auto unlocked = [racy]() mutable {
        for (int i = 0; i < 100; ++i) {
            const int v = racy.value();   // read ...
            std::this_thread::yield();    // ... give the other process a chance ...
            racy.value() = v + 1;         // ... write: an update may be lost
        }
    };
    mp::Process a(unlocked), b(unlocked);
    a.start(); b.start(); a.join(); b.join();
    std::printf("without the lock: %d (200 or less: increments can be lost)\n", racy.get());

    mp::Value<int> counter(0);
    auto locked = [counter]() mutable {
        for (int i = 0; i < 100; ++i) {
            std::lock_guard<mp::RLock> hold(counter.get_lock());
            counter.value() += 1;
        }
    };
    mp::Process c(locked), d(locked);
    c.start(); d.start(); c.join(); d.join();
    std::printf("with get_lock(): %d\n", counter.get());

    mp::Array<double> numbers{1.0, 2.0, 3.0, 4.0};
    mp::Process doubler([numbers]() mutable {
        for (std::size_t i = 0; i < numbers.size(); ++i) numbers[i] *= 2;
    });
    doubler.start();
    doubler.join();
    std::printf("array:");
    for (std::size_t i = 0; i < numbers.size(); ++i) std::printf(" %g", numbers[i]);
    std::printf("\n");

    mp::Manager manager;
    auto dict = manager.dict<std::string, int>();
    auto list = manager.list<int>();
    std::vector<mp::Process> fillers;
    for (int n = 1; n <= 3; ++n)
        fillers.emplace_back([dict, list, n]() mutable {
            dict.set("worker" + std::to_string(n), n * 10);
            list.append(n);
        });
    for (auto &p : fillers) p.start();
    for (auto &p : fillers) p.join();
    std::printf("manager dict has %zu keys, worker2 -> %d\n", dict.size(), dict.at("worker2"));
    int sum = 0;
    for (int v : list.to_vector()) sum += v;
    std::printf("manager list has %zu items, sum %d\n", list.size(), sum);
}
