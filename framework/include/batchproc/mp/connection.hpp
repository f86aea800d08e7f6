// Pipe<T>() and Connection<T>: two connected ends exchanging T messages (Python's
// multiprocessing.Pipe and Connection).
//
//     auto [parent_end, child_end] = mp::Pipe<std::string>();
//     mp::Process p([&] { child_end.send("hello"); child_end.close(); });
//     p.start();
//     parent_end.recv();                           // "hello"
//
// Messages are length-prefixed cereal archives over a Unix socket pair. Ends are shared
// handles: copies of a Connection in one process are the same end, and close() closes it
// for all of them. A child started with fork inherits every end its parent has open, so to
// see EOFError the reader must close its own copy of the writing end (and the writer its
// copy of the reading end), as in Python. Connections are not locked: two processes that
// read (or write) the same end at the same time may corrupt messages; use a Queue for that.
#pragma once

#include "batchproc/mp/detail/unique_fd.hpp"
#include "batchproc/mp/errors.hpp"
#include "batchproc/mp/serialization.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace batchproc::mp {

namespace detail {

// Every message on the wire: an 8-byte length (host byte order: both ends are on this
// machine), then the payload. Senders build the payload after kFrameHeader reserved bytes
// so that a message is one write.
inline constexpr size_t kFrameHeader = 8;

// One end, shared by the copies of a Connection in a process.
class ConnectionEnd {
public:
    ConnectionEnd(UniqueFd fd, bool readable, bool writable)
        : fd_(std::move(fd)), readable_(readable), writable_(writable) {}

    void send_framed(std::string &framed);
    void recv_payload(std::string &payload); // EOFError at end of file
    bool poll(std::optional<double> timeout_seconds);
    void close() { fd_.reset(); }
    bool closed() const { return !fd_; }
    bool readable() const { return readable_; }
    bool writable() const { return writable_; }
    int fd() const;

private:
    UniqueFd fd_;
    bool readable_;
    bool writable_;
};

std::pair<std::shared_ptr<ConnectionEnd>, std::shared_ptr<ConnectionEnd>> make_pipe(bool duplex);

} // namespace detail

template <class T>
class Connection {
public:
    // An unconnected end: every operation throws ValueError. Ends come from Pipe<T>().
    Connection() = default;
    explicit Connection(std::shared_ptr<detail::ConnectionEnd> end) : end_(std::move(end)) {}

    // Sends one object. BrokenPipeError when the other end is closed.
    void send(const T &object) {
        std::string framed(detail::kFrameHeader, '\0');
        dump_to(framed, object);
        end().send_framed(framed);
    }
    // Receives one object, blocking until one arrives. EOFError when the other end is
    // closed and nothing is left.
    T recv() {
        std::string payload;
        end().recv_payload(payload);
        return loads<T>(payload);
    }
    // Raw bytes, without serialization (Python's send_bytes / recv_bytes).
    void send_bytes(std::string_view bytes) {
        std::string framed(detail::kFrameHeader, '\0');
        framed.append(bytes);
        end().send_framed(framed);
    }
    std::string recv_bytes() {
        std::string payload;
        end().recv_payload(payload);
        return payload;
    }
    // Whether recv() would not block: data is there, or the other end is closed. Waits at
    // most `timeout_seconds` (0: not at all; nullopt: for ever).
    bool poll(std::optional<double> timeout_seconds = 0.0) { return end().poll(timeout_seconds); }

    void close() {
        if (end_) end_->close();
    }
    bool closed() const { return !end_ || end_->closed(); }
    bool readable() const { return end_ && end_->readable(); }
    bool writable() const { return end_ && end_->writable(); }
    int fileno() const { return end_ && !end_->closed() ? end_->fd() : -1; }

    // A Connection can be an argument of a spawn or forkserver Process (its descriptor is
    // passed to the child); it cannot be sent through a Queue or another Connection.
    template <class Archive>
    void save(Archive &ar) const {
        ar(detail::export_fd(end().fd(), "a Connection"), end_->readable(), end_->writable());
    }
    template <class Archive>
    void load(Archive &ar) {
        std::uint32_t index = 0;
        bool r = false, w = false;
        ar(index, r, w);
        end_ = std::make_shared<detail::ConnectionEnd>(detail::UniqueFd(detail::import_fd(index)), r, w);
    }

private:
    detail::ConnectionEnd &end() const {
        if (!end_ || end_->closed()) throw ValueError("batchproc::mp::Connection: the connection is closed");
        return *end_;
    }

    std::shared_ptr<detail::ConnectionEnd> end_;
};

// Two connected ends. With duplex (the default) both can send and receive; otherwise the
// first can only receive and the second only send, as in Python.
template <class T>
std::pair<Connection<T>, Connection<T>> Pipe(bool duplex = true) {
    auto ends = detail::make_pipe(duplex);
    return {Connection<T>(std::move(ends.first)), Connection<T>(std::move(ends.second))};
}

} // namespace batchproc::mp
