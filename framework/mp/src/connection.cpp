#include "batchproc/mp/connection.hpp"

#include "framing.hpp"

#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <string>

namespace batchproc::mp::detail {

namespace {

[[noreturn]] void throw_io_error(const char *what) {
    throw Error(std::string("batchproc::mp: ") + what + ": " + std::strerror(errno));
}

// Reads exactly `size` bytes. Returns how many were read before end of file.
// `before`: bytes of the same frame already read (the payload follows its header).
size_t read_exact(int fd, char *data, size_t size, const std::function<void()> *on_stall,
                  const std::function<void()> *on_start = nullptr, size_t before = 0) {
    size_t done = 0;
    while (done < size) {
        // Inside a frame that is watched for a stalled writer: read what is there without
        // blocking, and wait (in slices, calling on_stall) only when nothing is. Most frames
        // are whole in the socket already, so this costs no poll() per message.
        const bool watched = on_stall != nullptr && done + before > 0;
        const ssize_t n = watched ? ::recv(fd, data + done, size - done, MSG_DONTWAIT) // a socket
                                  : ::read(fd, data + done, size - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (watched && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                if (!wait_readable(fd, 0.2)) (*on_stall)();
                continue;
            }
            if (errno == ECONNRESET) return done;
            throw_io_error("read");
        }
        if (n == 0) return done;
        if (done == 0 && on_start != nullptr) (*on_start)();
        done += static_cast<size_t>(n);
    }
    return done;
}

std::atomic<int> g_pid{0};

void forget_pid() noexcept { g_pid.store(0, std::memory_order_relaxed); }

} // namespace

int current_pid() noexcept {
    int pid = g_pid.load(std::memory_order_relaxed);
    if (pid == 0) {
        static const int registered = ::pthread_atfork(nullptr, nullptr, &forget_pid);
        static_cast<void>(registered);
        pid = static_cast<int>(::getpid());
        g_pid.store(pid, std::memory_order_relaxed);
    }
    return pid;
}

double monotonic_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

void send_frame(int fd, std::string &framed) {
    const std::uint64_t size = framed.size() - kFrameHeader;
    std::memcpy(framed.data(), &size, sizeof size);
    const char *p = framed.data();
    size_t left = framed.size();
    while (left > 0) {
        const ssize_t n = ::send(fd, p, left, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EPIPE || errno == ECONNRESET)
                throw BrokenPipeError("batchproc::mp: the other end of the connection is closed");
            throw_io_error("send");
        }
        p += n;
        left -= static_cast<size_t>(n);
    }
}

bool recv_frame(int fd, std::string &payload, const std::function<void()> *on_stall,
                const std::function<void()> *on_start) {
    char header[kFrameHeader];
    const size_t got = read_exact(fd, header, sizeof header, on_stall, on_start);
    if (got == 0) return false;
    if (got < sizeof header) throw EOFError("batchproc::mp: the connection ended inside a message");
    std::uint64_t size = 0;
    std::memcpy(&size, header, sizeof size);
    payload.resize(size);
    if (size > 0) {
        // The payload may lag behind the header: it is read as watched bytes of the frame.
        if (read_exact(fd, payload.data(), size, on_stall, nullptr, sizeof header) < size)
            throw EOFError("batchproc::mp: the connection ended inside a message");
    }
    return true;
}

bool wait_readable(int fd, std::optional<double> timeout_seconds) {
    const double deadline = timeout_seconds ? monotonic_seconds() + std::max(0.0, *timeout_seconds) : 0.0;
    for (;;) {
        int wait_ms = -1;
        if (timeout_seconds) {
            const double left = deadline - monotonic_seconds();
            wait_ms = left <= 0 ? 0 : static_cast<int>(std::ceil(left * 1000.0));
        }
        pollfd p{fd, POLLIN, 0};
        const int r = ::poll(&p, 1, wait_ms);
        if (r > 0) return true; // POLLIN, POLLHUP or POLLERR: a read will not block
        if (r == 0) {
            if (wait_ms == 0 || (timeout_seconds && monotonic_seconds() >= deadline)) return false;
            continue;
        }
        if (errno != EINTR) throw_io_error("poll");
    }
}

int ConnectionEnd::fd() const { return fd_.get(); }

void ConnectionEnd::send_framed(std::string &framed) {
    if (!writable_) throw ValueError("batchproc::mp::Connection: this end is read-only (Pipe(duplex=false))");
    send_frame(fd_.get(), framed);
}

void ConnectionEnd::recv_payload(std::string &payload) {
    if (!readable_) throw ValueError("batchproc::mp::Connection: this end is write-only (Pipe(duplex=false))");
    if (!recv_frame(fd_.get(), payload))
        throw EOFError("batchproc::mp::Connection: the other end is closed and nothing is left to read");
}

bool ConnectionEnd::poll(std::optional<double> timeout_seconds) {
    if (!readable_) throw ValueError("batchproc::mp::Connection: this end is write-only (Pipe(duplex=false))");
    return wait_readable(fd_.get(), timeout_seconds);
}

std::pair<std::shared_ptr<ConnectionEnd>, std::shared_ptr<ConnectionEnd>> make_pipe(bool duplex) {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) throw_io_error("socketpair for a Pipe");
    UniqueFd a(fds[0]), b(fds[1]);
    if (!duplex) {
        // The first end only receives, the second only sends.
        ::shutdown(a.get(), SHUT_WR);
        ::shutdown(b.get(), SHUT_RD);
    }
    return {std::make_shared<ConnectionEnd>(std::move(a), true, duplex),
            std::make_shared<ConnectionEnd>(std::move(b), duplex, true)};
}

} // namespace batchproc::mp::detail
