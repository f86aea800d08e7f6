// Lesson 1: process basics — two processes with their pid and parent pid, join, names, the pid
// before start, is_alive, and the daemon flag.
#include <batchproc/mp/process.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

namespace mp = batchproc::mp;

void info(const char *title) {
    std::printf("%s: name %s, pid %d, parent pid %d\n", title, mp::current_process().name.c_str(),
                static_cast<int>(::getpid()), static_cast<int>(::getppid()));
}

void worker(int n) {
    info("worker");
    std::printf("worker %d done\n", n);
}

int main() {
    info("main");
    mp::Process a(worker, 1), b(worker, 2);
    b.set_name("SecondWorker");
    std::printf("pid before start: %d\n", a.pid());
    a.start();
    b.start();
    a.join();
    b.join();
    std::printf("%s exit code %d, %s exit code %d\n", a.name().c_str(), *a.exitcode(), b.name().c_str(),
                *b.exitcode());

    mp::Process sleeper([] { std::this_thread::sleep_for(std::chrono::milliseconds(300)); });
    sleeper.set_daemon(true);
    sleeper.start();
    std::printf("daemon: %s, alive after start: %s\n", sleeper.daemon() ? "true" : "false",
                sleeper.is_alive() ? "true" : "false");
    sleeper.join();
    std::printf("alive after join: %s\n", sleeper.is_alive() ? "true" : "false");
}
