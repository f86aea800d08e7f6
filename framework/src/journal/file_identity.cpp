#include "journal/file_identity.hpp"

#include <xxhash.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

namespace fs = std::filesystem;

namespace batchproc {

bool FileIdentity::operator==(const FileIdentity &other) const {
    return exists == other.exists && size == other.size && mtime_ns == other.mtime_ns && dev == other.dev &&
           ino == other.ino && content_hash == other.content_hash;
}

namespace {

[[noreturn]] void fail(const fs::path &path, const char *what, int err) {
    throw std::runtime_error("cannot " + std::string(what) + " " + path.string() + ": " + std::strerror(err));
}

bool is_missing(int err) { return err == ENOENT || err == ENOTDIR; }

FileIdentity from_stat(const struct stat &st) {
    FileIdentity id;
    id.exists = true;
    id.size = static_cast<uint64_t>(st.st_size);
    id.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
    id.dev = static_cast<uint64_t>(st.st_dev);
    id.ino = static_cast<uint64_t>(st.st_ino);
    return id;
}

std::string to_hex(XXH128_hash_t hash) {
    XXH128_canonical_t canonical;
    XXH128_canonicalFromHash(&canonical, hash);
    static const char digits[] = "0123456789abcdef";
    std::string hex(2 * sizeof canonical.digest, '0');
    for (size_t i = 0; i < sizeof canonical.digest; ++i) {
        hex[2 * i] = digits[canonical.digest[i] >> 4];
        hex[2 * i + 1] = digits[canonical.digest[i] & 0xf];
    }
    return hex;
}

class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    Fd(const Fd &) = delete;
    Fd &operator=(const Fd &) = delete;
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    int get() const { return fd_; }

private:
    int fd_;
};

struct StateDeleter {
    void operator()(XXH3_state_t *state) const { XXH3_freeState(state); }
};

// O_NONBLOCK so that a FIFO cannot hang the open; regular files ignore it.
int open_for_hash(const fs::path &path) { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK); }

// Hashes what is left to read of `fd`, which must be a regular file.
std::string hash_fd(int fd, const fs::path &path) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) fail(path, "stat", errno);
    if (!S_ISREG(st.st_mode))
        throw std::runtime_error("cannot hash the content of " + path.string() + ": not a regular file");
    std::unique_ptr<XXH3_state_t, StateDeleter> state(XXH3_createState());
    if (!state || XXH3_128bits_reset(state.get()) != XXH_OK) throw std::bad_alloc();
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    std::vector<char> buffer(256 * 1024);
    for (;;) {
        const ssize_t n = ::read(fd, buffer.data(), buffer.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            fail(path, "read", errno);
        }
        if (n == 0) break;
        XXH3_128bits_update(state.get(), buffer.data(), static_cast<size_t>(n));
    }
    return to_hex(XXH3_128bits_digest(state.get()));
}

} // namespace

FileIdentity identify_file(const fs::path &path, bool with_content_hash) {
    if (!with_content_hash) {
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0) {
            if (is_missing(errno)) return {};
            fail(path, "stat", errno);
        }
        return from_stat(st);
    }
    const Fd fd(open_for_hash(path));
    if (fd.get() < 0) {
        if (is_missing(errno)) return {};
        fail(path, "open", errno);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) fail(path, "stat", errno);
    FileIdentity id = from_stat(st);
    id.content_hash = hash_fd(fd.get(), path);
    return id;
}

std::string hash_file_content(const fs::path &path) {
    const Fd fd(open_for_hash(path));
    if (fd.get() < 0) fail(path, "open", errno);
    return hash_fd(fd.get(), path);
}

std::string hash_bytes(std::string_view bytes) { return to_hex(XXH3_128bits(bytes.data(), bytes.size())); }

} // namespace batchproc
