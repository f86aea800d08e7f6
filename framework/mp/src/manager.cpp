// Manager: the server process and the client side of its proxies.
//
// Why a server process (as Python) and not shared memory with a lock: keys and values are
// serialized bytes of any length, so shared memory would need an allocator of its own in
// the block, growth across processes that already mapped it, and repair of a half-made
// update when a writer dies holding the lock. A server applies each request whole in its
// own address space: a killed client can only drop its connection.
#include "batchproc/mp/manager.hpp"

#include "framing.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <list>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>
#include <variant>

namespace batchproc::mp {

namespace detail {

namespace {

// Abstract socket names ("\0..." in sun_path): nothing in the file system to leave behind.
sockaddr_un socket_address(const std::string &name, socklen_t &length) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::size_t n = std::min(name.size(), sizeof(addr.sun_path) - 1);
    std::memcpy(addr.sun_path + 1, name.data(), n);
    length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + n);
    return addr;
}

bool same_user(int fd) {
    ucred cred{};
    socklen_t len = sizeof cred;
    return ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.uid == ::getuid();
}

// ----------------------------------------------------------------------------- the server

struct DictObject {
    // Insertion order, as Python's dict: a list of pairs and an index into it.
    std::list<std::pair<std::string, std::string>> entries;
    std::unordered_map<std::string, std::list<std::pair<std::string, std::string>>::iterator> index;

    void set(const std::string &key, const std::string &value) {
        auto it = index.find(key);
        if (it != index.end()) {
            it->second->second = value;
            return;
        }
        entries.emplace_back(key, value);
        index.emplace(key, std::prev(entries.end()));
    }
    bool take(const std::string &key, std::string *value) {
        auto it = index.find(key);
        if (it == index.end()) return false;
        if (value != nullptr) *value = std::move(it->second->second);
        entries.erase(it->second);
        index.erase(it);
        return true;
    }
};

using ListObject = std::vector<std::string>;

class Store {
public:
    ManagerReply handle(const ManagerRequest &q) {
        std::lock_guard guard(mutex_);
        ManagerReply r;
        if (q.op == ManagerOp::create_dict) {
            r.number = static_cast<std::int64_t>(next_id_);
            objects_.emplace(next_id_++, DictObject{});
            return r;
        }
        if (q.op == ManagerOp::create_list) {
            r.number = static_cast<std::int64_t>(next_id_);
            objects_.emplace(next_id_++, ListObject(q.many));
            return r;
        }
        auto it = objects_.find(q.object);
        if (it == objects_.end()) return error("no object " + std::to_string(q.object) + " on this manager");
        if (auto *d = std::get_if<DictObject>(&it->second)) return handle_dict(*d, q);
        return handle_list(std::get<ListObject>(it->second), q);
    }

private:
    static ManagerReply error(std::string message, ManagerStatus status = ManagerStatus::error) {
        ManagerReply r;
        r.status = status;
        r.message = std::move(message);
        return r;
    }

    static ManagerReply handle_dict(DictObject &d, const ManagerRequest &q) {
        ManagerReply r;
        switch (q.op) {
        case ManagerOp::dict_set: d.set(q.key, q.value); break;
        case ManagerOp::dict_get:
            if (auto it = d.index.find(q.key); it != d.index.end()) {
                r.found = true;
                r.value = it->second->second;
            }
            break;
        case ManagerOp::dict_erase: r.found = d.take(q.key, nullptr); break;
        case ManagerOp::dict_pop: r.found = d.take(q.key, &r.value); break;
        case ManagerOp::dict_setdefault:
            if (auto it = d.index.find(q.key); it != d.index.end()) {
                r.found = true;
                r.value = it->second->second;
            } else {
                d.set(q.key, q.value);
                r.value = q.value;
            }
            break;
        case ManagerOp::dict_update:
            for (std::size_t i = 0; i + 1 < q.many.size(); i += 2) d.set(q.many[i], q.many[i + 1]);
            break;
        case ManagerOp::dict_items:
            r.values.reserve(2 * d.entries.size());
            for (const auto &[k, v] : d.entries) {
                r.values.push_back(k);
                r.values.push_back(v);
            }
            break;
        case ManagerOp::dict_keys:
            for (const auto &entry : d.entries) r.values.push_back(entry.first);
            break;
        case ManagerOp::dict_values:
            for (const auto &entry : d.entries) r.values.push_back(entry.second);
            break;
        case ManagerOp::size: r.number = static_cast<std::int64_t>(d.entries.size()); break;
        case ManagerOp::clear:
            d.entries.clear();
            d.index.clear();
            break;
        default: return error("this object is a dictionary, not a list");
        }
        return r;
    }

    // Python's index rules: negative counts from the end; out of range is an IndexError.
    static bool resolve(const ListObject &l, std::int64_t index, std::size_t &at) {
        const auto size = static_cast<std::int64_t>(l.size());
        if (index < 0) index += size;
        if (index < 0 || index >= size) return false;
        at = static_cast<std::size_t>(index);
        return true;
    }

    static ManagerReply index_error(const ListObject &l, std::int64_t index) {
        return error("list index " + std::to_string(index) + " out of range (the list has " +
                         std::to_string(l.size()) + " items)",
                     ManagerStatus::index_error);
    }

    static ManagerReply handle_list(ListObject &l, const ManagerRequest &q) {
        ManagerReply r;
        std::size_t at = 0;
        switch (q.op) {
        case ManagerOp::list_append: l.push_back(q.value); break;
        case ManagerOp::list_extend: l.insert(l.end(), q.many.begin(), q.many.end()); break;
        case ManagerOp::list_get:
            if (!resolve(l, q.index, at)) return index_error(l, q.index);
            r.value = l[at];
            break;
        case ManagerOp::list_set:
            if (!resolve(l, q.index, at)) return index_error(l, q.index);
            l[at] = q.value;
            break;
        case ManagerOp::list_insert: {
            const auto size = static_cast<std::int64_t>(l.size());
            std::int64_t i = q.index < 0 ? q.index + size : q.index;
            i = std::clamp<std::int64_t>(i, 0, size);
            l.insert(l.begin() + i, q.value);
            break;
        }
        case ManagerOp::list_pop:
            if (l.empty()) return error("pop from an empty list", ManagerStatus::index_error);
            if (!resolve(l, q.index, at)) return index_error(l, q.index);
            r.value = std::move(l[at]);
            l.erase(l.begin() + static_cast<std::ptrdiff_t>(at));
            break;
        case ManagerOp::list_items: r.values = l; break;
        case ManagerOp::size: r.number = static_cast<std::int64_t>(l.size()); break;
        case ManagerOp::clear: l.clear(); break;
        default: return error("this object is a list, not a dictionary");
        }
        return r;
    }

    std::mutex mutex_;
    std::uint64_t next_id_ = 1;
    std::unordered_map<std::uint64_t, std::variant<DictObject, ListObject>> objects_;
};

// One client's connection, until it closes (or its process dies: the kernel closes it).
void serve_connection(Store &store, int fd) {
    std::string payload;
    try {
        while (recv_frame(fd, payload)) {
            ManagerReply reply;
            try {
                reply = store.handle(loads<ManagerRequest>(payload));
            } catch (const std::exception &e) {
                reply.status = ManagerStatus::error;
                reply.message = std::string("bad request: ") + e.what();
            }
            std::string framed(kFrameHeader, '\0');
            dump_to(framed, reply);
            send_frame(fd, framed);
        }
    } catch (const std::exception &) {
        // The client went away in the middle of a request: nothing of it was applied.
    }
    ::close(fd);
}

// Closes [first, last]: close_range, or one by one on kernels without it (before 5.9).
void close_fds(unsigned first, unsigned last) {
    if (first > last || ::close_range(first, last, 0) == 0) return;
    const long open_max = ::sysconf(_SC_OPEN_MAX);
    const unsigned limit = open_max > 0 ? static_cast<unsigned>(std::min<long>(open_max, 1 << 20)) : 65536u;
    for (unsigned fd = first; fd <= last && fd < limit; ++fd) ::close(static_cast<int>(fd));
}

// Closes every descriptor but the standard streams and `keep`.
void close_other_fds(std::vector<int> keep) {
    std::sort(keep.begin(), keep.end());
    unsigned first = 3;
    for (int fd : keep) {
        if (static_cast<unsigned>(fd) > first) close_fds(first, static_cast<unsigned>(fd) - 1);
        first = static_cast<unsigned>(fd) + 1;
    }
    close_fds(first, ~0U);
}

[[noreturn]] void run_server(int listen_fd, int lifeline_fd) {
    ::prctl(PR_SET_NAME, "bpmp-manager", 0, 0, 0);
    // Ctrl-C in a terminal goes to the whole process group: the program, not its manager,
    // decides when the manager ends (as Python's manager ignores SIGINT).
    ::signal(SIGINT, SIG_IGN);
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGPIPE, SIG_IGN);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    close_other_fds({listen_fd, lifeline_fd});

    static Store store; // never destroyed: the server ends with _exit
    for (;;) {
        pollfd fds[2] = {{listen_fd, POLLIN, 0}, {lifeline_fd, POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            ::_exit(3);
        }
        // Every process that could use the manager's owner side is gone (or shutdown()).
        if (fds[1].revents != 0) ::_exit(0);
        if (fds[0].revents == 0) continue;
        const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        if (!same_user(fd)) {
            ::close(fd);
            continue;
        }
        try {
            std::thread(serve_connection, std::ref(store), fd).detach();
        } catch (const std::exception &) {
            ::close(fd);
        }
    }
}

std::string random_suffix() {
    std::random_device device;
    std::mt19937_64 generator((static_cast<std::uint64_t>(device()) << 32) ^ device());
    char buffer[17];
    std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(generator()));
    return buffer;
}

} // namespace

// ----------------------------------------------------------------------------- the client

class ManagerClient {
public:
    ManagerClient(std::string address, std::int32_t server_pid)
        : address_(std::move(address)), server_pid_(server_pid) {}
    ~ManagerClient() {
        // A fork child's inherited socket is the parent's connection too: closing this copy
        // does not end it.
        if (fd_ >= 0) ::close(fd_);
    }
    ManagerClient(const ManagerClient &) = delete;
    ManagerClient &operator=(const ManagerClient &) = delete;

    const std::string &address() const noexcept { return address_; }
    std::int32_t server_pid() const noexcept { return server_pid_; }

    ManagerReply call(const ManagerRequest &request, const char *what) {
        std::lock_guard guard(mutex_);
        std::string framed(kFrameHeader, '\0');
        dump_to(framed, request);
        connect_if_needed(what);
        std::string payload;
        bool got = false;
        try {
            send_frame(fd_, framed);
            got = recv_frame(fd_, payload);
        } catch (const Error &) {
            got = false;
        }
        if (!got) {
            ::close(fd_);
            fd_ = -1;
            throw gone(what, "the connection to it was cut");
        }
        ManagerReply reply = loads<ManagerReply>(payload);
        switch (reply.status) {
        case ManagerStatus::ok: break;
        case ManagerStatus::key_error: throw KeyError(prefix(what) + reply.message);
        case ManagerStatus::index_error: throw IndexError(prefix(what) + reply.message);
        case ManagerStatus::error: throw Error(prefix(what) + reply.message);
        }
        return reply;
    }

private:
    static std::string prefix(const char *what) { return std::string("batchproc::mp::") + what + ": "; }

    ManagerError gone(const char *what, const std::string &how) const {
        return ManagerError(prefix(what) + "the manager is gone (" + how + "): its server process (pid " +
                            std::to_string(server_pid_) +
                            ") has ended, because the Manager was shut down or destroyed or the process that "
                            "made it ended. Keep the Manager alive while its proxies are in use");
    }

    void connect_if_needed(const char *what) {
        const int self = static_cast<int>(::getpid());
        if (fd_ >= 0 && fd_pid_ == self) return;
        if (fd_ >= 0) ::close(fd_); // inherited through fork: the parent's connection
        fd_ = -1;
        const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) throw Error(prefix(what) + "socket: " + std::strerror(errno));
        socklen_t length = 0;
        const sockaddr_un addr = socket_address(address_, length);
        int r;
        for (int attempt = 0;; ++attempt) {
            r = ::connect(fd, reinterpret_cast<const sockaddr *>(&addr), length);
            if (r == 0 || errno == EINTR) break;
            if (errno != EAGAIN || attempt == 200) break; // EAGAIN: the listen backlog is full
            ::usleep(5000);
        }
        if (r != 0) {
            const int e = errno;
            ::close(fd);
            if (e == ECONNREFUSED || e == ENOENT) throw gone(what, "nothing listens at its address");
            throw Error(prefix(what) + "connecting to the manager: " + std::strerror(e));
        }
        if (!same_user(fd)) {
            ::close(fd);
            throw Error(prefix(what) + "the process at the manager's address belongs to another user");
        }
        fd_ = fd;
        fd_pid_ = self;
    }

    std::mutex mutex_;
    std::string address_;
    std::int32_t server_pid_;
    int fd_ = -1;
    int fd_pid_ = 0;
};

std::shared_ptr<ManagerClient> manager_client(const std::string &address, std::int32_t server_pid) {
    // One connection per manager per process, shared by its proxies.
    static std::mutex mutex;
    static std::map<std::string, std::weak_ptr<ManagerClient>> clients;
    std::lock_guard guard(mutex);
    std::weak_ptr<ManagerClient> &slot = clients[address];
    if (auto client = slot.lock()) return client;
    auto client = std::make_shared<ManagerClient>(address, server_pid);
    slot = client;
    return client;
}

const std::string &manager_address(const ManagerClient &client) noexcept { return client.address(); }
std::int32_t manager_server_pid(const ManagerClient &client) noexcept { return client.server_pid(); }

ManagerReply manager_call(ManagerClient &client, const ManagerRequest &request, const char *what) {
    return client.call(request, what);
}

ManagerReply ProxyCore::call(ManagerOp op, const char *what, std::string key, std::string value, std::int64_t index,
                             std::vector<std::string> many) const {
    if (!client_)
        throw ManagerError(std::string("batchproc::mp::") + what +
                           ": this proxy is not bound to a manager (default-constructed); get one from "
                           "Manager::dict or Manager::list");
    ManagerRequest request;
    request.op = op;
    request.object = object_;
    request.index = index;
    request.key = std::move(key);
    request.value = std::move(value);
    request.many = std::move(many);
    return client_->call(request, what);
}

} // namespace detail

// ----------------------------------------------------------------------------- Manager

Manager::Manager() {
    const std::string address =
        "batchproc-mp-manager-" + std::to_string(::getpid()) + "-" + detail::random_suffix();
    detail::UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!listener) throw ProcessError(std::string("batchproc::mp::Manager: socket: ") + std::strerror(errno));
    socklen_t length = 0;
    const sockaddr_un addr = detail::socket_address(address, length);
    // Bound and listening before the server starts: a proxy used at once finds it.
    if (::bind(listener.get(), reinterpret_cast<const sockaddr *>(&addr), length) != 0 ||
        ::listen(listener.get(), 128) != 0)
        throw ProcessError(std::string("batchproc::mp::Manager: cannot listen on its address: ") +
                           std::strerror(errno));
    int lifeline[2];
    if (::pipe2(lifeline, O_CLOEXEC) != 0)
        throw ProcessError(std::string("batchproc::mp::Manager: pipe: ") + std::strerror(errno));
    detail::UniqueFd lifeline_read(lifeline[0]), lifeline_write(lifeline[1]);

    std::fflush(nullptr); // nothing buffered is written twice
    const pid_t pid = ::fork();
    if (pid < 0) throw ProcessError(std::string("batchproc::mp::Manager: fork: ") + std::strerror(errno));
    if (pid == 0) {
        lifeline_write.release(); // closed by close_other_fds, never by a destructor here
        detail::run_server(listener.get(), lifeline_read.get());
    }
    server_pid_ = pid;
    creator_pid_ = static_cast<int>(::getpid());
    lifeline_ = lifeline_write.release();
    client_ = detail::manager_client(address, pid);
}

Manager::~Manager() { shutdown(); }

Manager::Manager(Manager &&other) noexcept
    : client_(std::move(other.client_)), server_pid_(std::exchange(other.server_pid_, 0)),
      creator_pid_(std::exchange(other.creator_pid_, 0)), lifeline_(std::exchange(other.lifeline_, -1)) {}

Manager &Manager::operator=(Manager &&other) noexcept {
    if (this != &other) {
        shutdown();
        client_ = std::move(other.client_);
        server_pid_ = std::exchange(other.server_pid_, 0);
        creator_pid_ = std::exchange(other.creator_pid_, 0);
        lifeline_ = std::exchange(other.lifeline_, -1);
    }
    return *this;
}

void Manager::shutdown() noexcept {
    if (server_pid_ <= 0 || creator_pid_ != static_cast<int>(::getpid())) return;
    // The server holds nothing that needs saving: end it at once, whoever else holds the lifeline.
    ::kill(server_pid_, SIGKILL);
    int status = 0;
    while (::waitpid(server_pid_, &status, 0) < 0 && errno == EINTR) {
    }
    if (lifeline_ >= 0) ::close(lifeline_);
    lifeline_ = -1;
    server_pid_ = 0;
}

std::string Manager::address() const {
    return client_ ? "@" + detail::manager_address(*client_) : std::string();
}

detail::ProxyCore Manager::create(detail::ManagerOp op, std::vector<std::string> initial) {
    if (!client_ || server_pid_ == 0)
        throw ManagerError("batchproc::mp::Manager: this manager has been shut down; make a new one");
    detail::ManagerRequest request;
    request.op = op;
    request.many = std::move(initial);
    const detail::ManagerReply reply = detail::manager_call(*client_, request, "Manager");
    return detail::ProxyCore(client_, static_cast<std::uint64_t>(reply.number));
}

} // namespace batchproc::mp
