#include "pool/fork_server.hpp"

#include "engine/interrupt.hpp"
#include "pool/worker.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace batchproc {

namespace {

struct Message {
    char type; // 'P': spawned pid, 'X': exit status, 'E': spawn failed
    int32_t pid;
    int32_t status;
};

bool send_fds(int sock, int a, int b) {
    char byte = 'S';
    iovec iov{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))];
    std::memset(control, 0, sizeof control);
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(2 * sizeof(int));
    int fds[2] = {a, b};
    std::memcpy(CMSG_DATA(c), fds, sizeof fds);
    ssize_t n;
    do n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n == 1;
}

// 1: got two fds; 0: EOF; -1: error.
int receive_fds(int sock, int &a, int &b) {
    char byte = 0;
    iovec iov{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n;
    do n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n == 0) return 0;
    if (n < 0) return -1;
    cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (c == nullptr || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(2 * sizeof(int))) return -1;
    int fds[2];
    std::memcpy(fds, CMSG_DATA(c), sizeof fds);
    a = fds[0];
    b = fds[1];
    return 1;
}

void send_message(int sock, const Message &m) {
    ssize_t n;
    do n = send(sock, &m, sizeof m, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
}

} // namespace

ForkServer::ForkServer(std::function<int(int, int)> worker_body) {
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
        throw std::system_error(errno, std::generic_category(), "socketpair for the forkserver");
    std::fflush(nullptr);
    const pid_t coordinator = getpid();
    const pid_t pid = fork();
    if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork of the forkserver");
    if (pid == 0) {
        ::close(pair[0]);
        socket_.reset(pair[1]);
        reset_signal_handlers_in_child();
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != coordinator) _exit(0);
        serve(worker_body);
    }
    ::close(pair[1]);
    socket_.reset(pair[0]);
    server_pid_ = pid;
    register_child_pid(pid);
}

void ForkServer::serve(const std::function<int(int, int)> &worker_body) {
    const int sock = socket_.get();
    // Worker exits arrive as SIGCHLD on a signalfd, so the server sleeps in poll() until
    // there is something to do and reports an exit the moment it happens.
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, nullptr);
    const int exits = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    bool closing = false;
    int children = 0;
    for (;;) {
        // Reap and report every worker that has ended.
        int status = 0;
        pid_t done;
        while ((done = waitpid(-1, &status, WNOHANG)) > 0) {
            --children;
            send_message(sock, Message{'X', done, status});
        }
        if (closing && children <= 0) _exit(0);
        pollfd p[2] = {{exits, POLLIN, 0}, {sock, POLLIN, 0}};
        // Without a signalfd (never expected), fall back to looking for exits every 10 ms.
        const int ready = poll(p, closing ? 1 : 2, exits < 0 ? 10 : -1);
        if (ready <= 0) continue;
        if (p[0].revents & POLLIN) {
            signalfd_siginfo info[16];
            while (read(exits, info, sizeof info) > 0) {
            }
        }
        if (closing || p[1].revents == 0) continue;
        int job_fd = -1, result_fd = -1;
        const int got = receive_fds(sock, job_fd, result_fd);
        if (got == 0 || got < 0) {
            // The coordinator is done (or gone): wait for the workers to finish.
            closing = true;
            continue;
        }
        const pid_t self = getpid();
        const pid_t child = fork();
        if (child == 0) {
            prepare_worker_process(self, job_fd, result_fd, -1);
            _exit(worker_body(kWorkerJobFd, kWorkerResultFd));
        }
        ::close(job_fd);
        ::close(result_fd);
        if (child < 0) {
            send_message(sock, Message{'E', 0, errno});
        } else {
            ++children;
            send_message(sock, Message{'P', child, 0});
        }
    }
}

bool ForkServer::receive(bool block) {
    Message m{};
    ssize_t n;
    do n = recv(socket_.get(), &m, sizeof m, block ? 0 : MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n <= 0) return false;
    if (m.type == 'X') exits_[m.pid] = m.status;
    else if (m.type == 'P') last_spawned_ = m.pid;
    else if (m.type == 'E') last_spawned_ = 0;
    return true;
}

pid_t ForkServer::spawn(int job_fd, int result_fd) {
    if (!send_fds(socket_.get(), job_fd, result_fd)) throw std::runtime_error("the forkserver is gone");
    last_spawned_ = -1;
    while (last_spawned_ < 0)
        if (!receive(true)) throw std::runtime_error("the forkserver is gone");
    if (last_spawned_ == 0) throw std::runtime_error("the forkserver could not fork a worker");
    register_child_pid(last_spawned_);
    return last_spawned_;
}

int ForkServer::wait_exit(pid_t worker) {
    for (;;) {
        auto it = exits_.find(worker);
        if (it != exits_.end()) {
            const int status = it->second;
            exits_.erase(it);
            unregister_child_pid(worker);
            return status;
        }
        if (!receive(true)) {
            // The server is gone; the worker, whose parent it was, was killed with it.
            unregister_child_pid(worker);
            return SIGKILL;
        }
    }
}

ForkServer::~ForkServer() {
    socket_.reset();
    if (server_pid_ > 0) {
        int status = 0;
        while (waitpid(server_pid_, &status, 0) < 0 && errno == EINTR) {
        }
        unregister_child_pid(server_pid_);
    }
}

} // namespace batchproc
