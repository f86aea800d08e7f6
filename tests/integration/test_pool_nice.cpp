// pool.nice: the run and its workers step back for other work on the machine.
#include "support/run_helpers.hpp"

#include <gtest/gtest.h>

#include <sys/resource.h>

#include <cerrno>
#include <thread>

namespace fs = std::filesystem;
using namespace batchproc::test;
using namespace std::chrono_literals;

TEST(PoolNice, WorkersRunAtTheConfiguredNiceness) {
    TempDir dir("bp-nice");
    for (const char *mode : {"processes", "serial"}) {
        SCOPED_TRACE(mode);
        const fs::path pids = dir / (std::string("pids-") + mode);
        fs::create_directories(pids);
        const fs::path c = dir / (std::string(mode) + ".yaml");
        write_text(c, "plugins: [" + yaml_quote(faults_plugin_path()) + "]\n"
                      "input: {generate: {count: 1}}\n"
                      "pool: {mode: " + mode + ", workers: 1, nice: 7}\n"
                      "pipeline:\n  - fault: {action: sleep, ms: 3000, on_index: \"*\", pid_dir: " + yaml_quote(pids.string()) + "}\n");
        BatchprocProcess p({"run", "-q", c.string()}, dir / "logs");
        ASSERT_TRUE(wait_for_file(pids / "0.pid", 30s)) << p.err();
        const pid_t worker = static_cast<pid_t>(std::stol(read_text(pids / "0.pid")));
        errno = 0;
        const int niceness = ::getpriority(PRIO_PROCESS, static_cast<id_t>(worker));
        EXPECT_EQ(errno, 0);
        EXPECT_EQ(niceness, 7) << "the process running the job";
        ASSERT_TRUE(p.wait(60s));
        EXPECT_EQ(p.exit_code(), 0) << p.err();
    }
}
