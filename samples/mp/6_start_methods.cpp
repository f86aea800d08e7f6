// Lesson 6: start methods — what fork, spawn and forkserver do, the default, and a spawn
// context in use.
#include <batchproc/mp/pool.hpp>
#include <batchproc/mp/process.hpp>
#include <batchproc/mp/queue.hpp>

#include <unistd.h>

#include <cstdio>
#include <string>

namespace mp = batchproc::mp;

void report(mp::Queue<std::string> out) {
    out.put(std::string("child ") + mp::current_process().name + " (pid " + std::to_string(::getpid()) + ")");
}
BATCHPROC_MP_TASK(report);

int triple(int x) { return 3 * x; }
BATCHPROC_MP_TASK(triple);

int main() {
    std::printf("fork: the child is a copy of this process; any callable runs in it\n");
    std::printf("spawn: the child is a fresh run of this program; it runs a registered function\n");
    std::printf("forkserver: a clean server process forks the children; registered functions too\n");
    std::printf("available:");
    for (mp::StartMethod m : mp::get_all_start_methods()) std::printf(" %s", mp::to_string(m));
    std::printf("\ndefault: %s\n", mp::to_string(mp::get_start_method()));

    auto ctx = mp::get_context(mp::StartMethod::spawn);
    mp::Queue<std::string> q;
    mp::Process p = ctx.Process(report, q);
    p.start();
    std::printf("spawn context: %s\n", q.get().c_str());
    p.join();

    mp::Pool pool(2, {mp::StartMethod::spawn});
    std::printf("spawn pool: triple(14) = %d\n", pool.apply(triple, 14));
}
