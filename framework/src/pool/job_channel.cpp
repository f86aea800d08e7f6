#include "pool/job_channel.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace batchproc {

std::string pack_paths(const std::vector<std::filesystem::path> &paths) {
    std::string packed;
    for (const std::filesystem::path &p : paths) {
        packed += p.native();
        packed += '\0';
    }
    return packed;
}

std::vector<std::filesystem::path> unpack_paths(const std::string &packed) {
    std::vector<std::filesystem::path> paths;
    for (size_t at = 0; at < packed.size();) {
        const size_t end = packed.find('\0', at);
        if (end == std::string::npos) break;
        paths.emplace_back(packed.substr(at, end - at));
        at = end + 1;
    }
    return paths;
}

Fd &Fd::operator=(Fd &&other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
}

void Fd::reset(int fd) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
}

Pipe Pipe::make() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
    Pipe p;
    p.read.reset(fds[0]);
    p.write.reset(fds[1]);
    return p;
}

namespace {
struct Frame {
    uint32_t slot;
    uint32_t input_len;
    uint32_t output_len;
    uint32_t pad;
    int64_t index;
};
} // namespace

void encode_job(const JobMessage &msg, std::vector<char> &out) {
    Frame f{msg.slot, static_cast<uint32_t>(msg.input.size()), static_cast<uint32_t>(msg.outputs.size()), 0, msg.index};
    const size_t at = out.size();
    out.resize(at + sizeof f + msg.input.size() + msg.outputs.size());
    std::memcpy(out.data() + at, &f, sizeof f);
    std::memcpy(out.data() + at + sizeof f, msg.input.data(), msg.input.size());
    std::memcpy(out.data() + at + sizeof f + msg.input.size(), msg.outputs.data(), msg.outputs.size());
}

bool write_all(int fd, const void *data, size_t size) {
    const auto *p = static_cast<const char *>(data);
    while (size > 0) {
        const ssize_t n = ::write(fd, p, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        p += n;
        size -= static_cast<size_t>(n);
    }
    return true;
}

bool JobReader::fill(size_t need) {
    while (buffer_.size() - start_ < need) {
        if (start_ > 0) { // drop consumed bytes before reading more
            buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(start_));
            start_ = 0;
        }
        char chunk[16384];
        const ssize_t n = ::read(fd_, chunk, sizeof chunk);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        if (n == 0) return false;
        buffer_.insert(buffer_.end(), chunk, chunk + n);
    }
    return true;
}

bool JobReader::next(JobMessage &msg) {
    if (!fill(sizeof(Frame))) return false;
    Frame f;
    std::memcpy(&f, buffer_.data() + start_, sizeof f);
    if (!fill(sizeof f + f.input_len + f.output_len)) return false;
    const char *p = buffer_.data() + start_ + sizeof f;
    msg.slot = f.slot;
    msg.index = f.index;
    msg.input.assign(p, f.input_len);
    msg.outputs.assign(p + f.input_len, f.output_len);
    start_ += sizeof f + f.input_len + f.output_len;
    if (start_ == buffer_.size()) {
        buffer_.clear();
        start_ = 0;
    }
    return true;
}

} // namespace batchproc
