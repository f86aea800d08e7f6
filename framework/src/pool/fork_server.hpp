// The forkserver start method: a single-threaded helper process, forked from the
// coordinator before any thread exists (with the plugins already loaded and the plan
// made), that forks workers on request. Workers are its children; it reports their exit
// statuses back to the coordinator.
#pragma once

#include "pool/job_channel.hpp"

#include <sys/types.h>

#include <functional>
#include <map>

namespace batchproc {

class ForkServer {
public:
    // Forks the server. In each worker it forks, `worker_body(job_fd, result_fd)` runs and
    // its return value becomes the worker's exit code.
    explicit ForkServer(std::function<int(int job_fd, int result_fd)> worker_body);
    ~ForkServer(); // asks the server to finish and reaps it
    ForkServer(const ForkServer &) = delete;
    ForkServer &operator=(const ForkServer &) = delete;

    pid_t pid() const { return server_pid_; }
    // Forks a worker that reads jobs from job_fd and answers on result_fd. Returns its pid.
    pid_t spawn(int job_fd, int result_fd);
    // Blocks until the exit status of `worker` is known; returns the wait status.
    int wait_exit(pid_t worker);

private:
    [[noreturn]] void serve(const std::function<int(int, int)> &worker_body);
    bool receive(bool block); // one message into the maps; false on EOF

    pid_t server_pid_ = -1;
    Fd socket_;
    std::map<pid_t, int> exits_;
    pid_t last_spawned_ = -1;
};

} // namespace batchproc
