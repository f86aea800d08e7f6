// Process + Queue + Lock under the spawn start method, in a program built against the
// installed library: the spawned children are this program run again, and become their task
// in the library's static initializer (no hook in main).
#include <batchproc/mp.hpp>

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

namespace mp = batchproc::mp;

void square_into(mp::Queue<std::string> results, mp::Lock lock, mp::Value<int> done, int x) {
    results.put(std::to_string(x) + "^2=" + std::to_string(x * x));
    std::lock_guard guard(lock);
    done.value() += 1;
}
BATCHPROC_MP_TASK(square_into);

int main() {
    auto spawn = mp::get_context(mp::StartMethod::spawn);
    mp::Queue<std::string> results;
    mp::Lock lock;
    mp::Value<int> done(0, false);
    std::vector<mp::Process> workers;
    for (int x = 1; x <= 3; ++x) workers.push_back(spawn.Process(square_into, results, lock, done, x));
    for (auto &p : workers) p.start();
    std::vector<std::string> lines;
    for (int i = 0; i < 3; ++i) lines.push_back(results.get());
    for (auto &p : workers) {
        p.join();
        if (p.exitcode() != 0) {
            std::printf("worker %s ended with %d\n", p.name().c_str(), p.exitcode().value_or(-999));
            return 1;
        }
    }
    std::sort(lines.begin(), lines.end());
    for (const auto &line : lines) std::printf("%s\n", line.c_str());
    std::printf("done=%d start_method=%s\n", done.value(), mp::to_string(spawn.start_method()));
    return 0;
}
