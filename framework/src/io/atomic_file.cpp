#include "io/atomic_file.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace fs = std::filesystem;

namespace batchproc {

fs::path temp_path_for(const fs::path &final_path, long pid) {
    return final_path.parent_path() / ("." + final_path.filename().string() + ".bp-tmp-" + std::to_string(pid));
}

namespace {

[[noreturn]] void fail(const fs::path &path, const std::string &what, int err) {
    throw std::runtime_error("cannot write " + path.string() + ": " + what + ": " + std::strerror(err));
}

// renameat2(RENAME_NOREPLACE) through syscall(): glibc 2.36 has the wrapper, but not every
// libc does, and the number is stable.
int rename_noreplace(const char *from, const char *to) {
#ifdef SYS_renameat2
    return static_cast<int>(syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE));
#else
    if (access(to, F_OK) == 0) {
        errno = EEXIST;
        return -1;
    }
    return rename(from, to);
#endif
}

// Temporary files being written, for the signal handler: slots hold pointers to path
// strings owned by the writing TempFile, published and withdrawn atomically.
constexpr size_t kTempSlots = 256;
std::array<std::atomic<const char *>, kTempSlots> g_temp_slots{};

class TempFile {
public:
    explicit TempFile(fs::path path) : path_(std::move(path)) {
        for (size_t i = 0; i < kTempSlots; ++i) {
            const char *empty = nullptr;
            if (g_temp_slots[i].compare_exchange_strong(empty, path_.c_str())) {
                slot_ = static_cast<int>(i);
                break;
            }
        }
    }
    TempFile(const TempFile &) = delete;
    TempFile &operator=(const TempFile &) = delete;
    ~TempFile() {
        if (slot_ >= 0) g_temp_slots[static_cast<size_t>(slot_)].store(nullptr);
        if (!committed_) ::unlink(path_.c_str());
    }
    void commit() { committed_ = true; }

private:
    fs::path path_;
    bool committed_ = false;
    int slot_ = -1;
};

class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    Fd(const Fd &) = delete;
    Fd &operator=(const Fd &) = delete;
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    int get() const { return fd_; }
    int release() {
        int fd = fd_;
        fd_ = -1;
        return fd;
    }

private:
    int fd_;
};

} // namespace

void remove_temp_files_in_progress() {
    for (auto &slot : g_temp_slots) {
        const char *path = slot.load();
        if (path != nullptr) ::unlink(path);
    }
}

void write_file_atomically(const fs::path &final_path, const void *data, size_t size, bool overwrite) {
    std::error_code ec;
    const fs::path dir = final_path.parent_path();
    if (!dir.empty()) {
        fs::create_directories(dir, ec);
        if (ec) throw std::runtime_error("cannot create folder " + dir.string() + ": " + ec.message());
    }
    if (!overwrite && fs::exists(final_path, ec))
        throw std::runtime_error("output " + final_path.string() + " exists and output.overwrite is false");

    const fs::path tmp = temp_path_for(final_path, static_cast<long>(::getpid()));
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (fd.get() < 0) fail(tmp, "cannot create temporary file", errno);
    TempFile guard(tmp);
    const auto *p = static_cast<const char *>(data);
    size_t left = size;
    while (left > 0) {
        const ssize_t n = ::write(fd.get(), p, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail(tmp, "write failed", errno);
        }
        p += n;
        left -= static_cast<size_t>(n);
    }
    if (::close(fd.release()) != 0) fail(tmp, "close failed", errno);
    if (overwrite) {
        if (::rename(tmp.c_str(), final_path.c_str()) != 0) fail(final_path, "rename failed", errno);
    } else if (rename_noreplace(tmp.c_str(), final_path.c_str()) != 0) {
        if (errno == EEXIST)
            throw std::runtime_error("output " + final_path.string() + " exists and output.overwrite is false");
        fail(final_path, "rename failed", errno);
    }
    guard.commit();
}

} // namespace batchproc
