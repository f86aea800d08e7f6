// Length-prefixed messages on a stream socket, shared by Connection, Queue and the
// requests that carry a child's task.
#pragma once

#include "batchproc/mp/connection.hpp" // kFrameHeader

#include <functional>
#include <optional>
#include <string>

namespace batchproc::mp::detail {

// Writes the frame whose payload follows the kFrameHeader reserved bytes of `framed`
// (one send for header and payload). Throws BrokenPipeError when the reading end is closed.
void send_frame(int fd, std::string &framed);

// Reads one frame's payload. False on end of file before a frame starts; EOFError when the
// stream ends inside one. `on_start` (if given) is called as soon as the frame's first bytes
// are read. While the rest of a started frame is slow to come, `on_stall` (if given) is
// called every 200 ms: it may throw to give up.
bool recv_frame(int fd, std::string &payload, const std::function<void()> *on_stall = nullptr,
                const std::function<void()> *on_start = nullptr);

// Waits until `fd` is readable (or at end of file) for at most `timeout_seconds`
// (nullopt: for ever; 0: just looks). True when readable.
bool wait_readable(int fd, std::optional<double> timeout_seconds);

// Monotonic clock in seconds.
double monotonic_seconds();

// getpid() without a system call per use (glibc no longer caches it): kept in a variable
// that a fork handler resets in the child. For the queue's per-message bookkeeping.
int current_pid() noexcept;

} // namespace batchproc::mp::detail
