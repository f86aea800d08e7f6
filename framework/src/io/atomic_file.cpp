#include "io/atomic_file.hpp"

#include "io/path_safety.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <linux/fs.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace fs = std::filesystem;

namespace batchproc {

namespace {

constexpr const char *kTempMarker = ".bp-tmp-";

[[noreturn]] void fail(const fs::path &path, const std::string &what, int err) {
    throw std::runtime_error("cannot write " + path.string() + ": " + what + ": " + std::strerror(err));
}

// renameat2(RENAME_NOREPLACE) through syscall(): glibc 2.36 has the wrapper, but not every
// libc does, and the number is stable.
int rename_noreplace(int dir, const char *from, const char *to) {
#ifdef SYS_renameat2
    return static_cast<int>(syscall(SYS_renameat2, dir, from, dir, to, RENAME_NOREPLACE));
#else
    if (faccessat(dir, to, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
        errno = EEXIST;
        return -1;
    }
    return renameat(dir, from, dir, to);
#endif
}

// Temporary files being written, for the signal handler: slots hold pointers to path
// strings owned by the writing TempFile, published and withdrawn atomically.
constexpr size_t kTempSlots = 256;
std::array<std::atomic<const char *>, kTempSlots> g_temp_slots{};

class Fd {
public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    Fd(Fd &&o) noexcept : fd_(o.release()) {}
    Fd &operator=(Fd &&o) noexcept {
        if (this != &o) {
            if (fd_ >= 0) ::close(fd_);
            fd_ = o.release();
        }
        return *this;
    }
    Fd(const Fd &) = delete;
    Fd &operator=(const Fd &) = delete;
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    int get() const { return fd_; }
    int release() {
        const int fd = fd_;
        fd_ = -1;
        return fd;
    }

private:
    int fd_;
};

// The temporary file: unlinked unless committed, and findable by the signal handler.
class TempFile {
public:
    TempFile(int dir, std::string name, fs::path path) : dir_(dir), name_(std::move(name)), path_(std::move(path)) {
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
        if (!committed_) ::unlinkat(dir_, name_.c_str(), 0);
    }
    void commit() { committed_ = true; }
    const std::string &name() const { return name_; }

private:
    int dir_;
    std::string name_;
    fs::path path_;
    bool committed_ = false;
    int slot_ = -1;
};

std::string random_hex() {
    uint64_t bits = 0;
    if (::getrandom(&bits, sizeof bits, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof bits)) {
        // No entropy yet (early boot): O_EXCL still makes the name safe, only guessable.
        bits = static_cast<uint64_t>(::getpid()) * 0x9E3779B97F4A7C15ull ^
               static_cast<uint64_t>(reinterpret_cast<uintptr_t>(&bits));
    }
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(bits));
    return text;
}

std::string temp_prefix(const std::string &name, long pid) {
    return "." + name + kTempMarker + std::to_string(pid) + "-";
}

void sync_folder(int dir, const fs::path &path) {
    if (::fsync(dir) != 0 && errno != EINVAL) fail(path, "fsync of the folder failed", errno);
}

// Opens (creating what is missing) the folder `folder`. Below `root` (when set) every folder
// is opened with O_NOFOLLOW: a symbolic link there is an error, never followed.
Fd open_folder(const fs::path &folder, const WriteOptions &options) {
    const fs::path start = options.root.empty() ? folder : options.root;
    std::error_code ec;
    fs::create_directories(start, ec);
    if (ec) throw std::runtime_error("cannot create folder " + start.string() + ": " + ec.message());
    Fd dir(::open(start.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.get() < 0) fail(start, "cannot open the folder", errno);
    if (options.root.empty()) return dir;

    fs::path at = start;
    for (const fs::path &part : folder.lexically_relative(start)) {
        if (part == ".") continue;
        if (part == "..") throw std::runtime_error("cannot write into " + folder.string() + ": it is outside " + start.string());
        at /= part;
        Fd next(::openat(dir.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (next.get() < 0 && errno == ENOENT) {
            if (::mkdirat(dir.get(), part.c_str(), 0777) != 0 && errno != EEXIST)
                fail(at, "cannot create the folder", errno);
            if (options.durable) sync_folder(dir.get(), at.parent_path());
            next = Fd(::openat(dir.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        }
        if (next.get() < 0) {
            const int err = errno;
            struct stat st {};
            if ((err == ELOOP || err == ENOTDIR) && ::fstatat(dir.get(), part.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                S_ISLNK(st.st_mode))
                throw std::runtime_error("cannot write into " + at.string() +
                                         ": it is a symbolic link inside the output folder, and outputs are never "
                                         "written through links there");
            fail(at, "cannot open the folder", err);
        }
        dir = std::move(next);
    }
    return dir;
}

void write_all(int fd, const void *data, size_t size, const fs::path &path) {
    const auto *p = static_cast<const char *>(data);
    while (size > 0) {
        const ssize_t n = ::write(fd, p, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail(path, "write failed", errno);
        }
        p += n;
        size -= static_cast<size_t>(n);
    }
}

} // namespace

bool is_temp_file_name(const std::string &name) {
    return !name.empty() && name.front() == '.' && name.find(kTempMarker) != std::string::npos;
}

void remove_temp_files_in_progress() {
    for (auto &slot : g_temp_slots) {
        const char *path = slot.load();
        if (path != nullptr) ::unlink(path);
    }
}


namespace {

// A process that exists and is not a zombie (an orphaned worker that died may stay a zombie
// for a long while when nothing reaps it: it writes nothing any more).
bool process_is_running(long pid) {
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = std::fopen(path, "re");
    if (f == nullptr) return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH;
    char line[512];
    const bool read = std::fgets(line, sizeof line, f) != nullptr;
    std::fclose(f);
    if (!read) return false;
    const char *close = std::strrchr(line, ')');
    return close == nullptr || close[1] == '\0' || (close[2] != 'Z' && close[2] != 'X');
}

// Unlinks the entries of `folder` whose names `doomed` selects; returns how many.
template <typename Pred>
size_t remove_names_in(const fs::path &folder, Pred doomed) {
    DIR *d = ::opendir(folder.c_str());
    if (d == nullptr) return 0;
    std::vector<std::string> names;
    while (const dirent *e = ::readdir(d))
        if (doomed(std::string(e->d_name))) names.emplace_back(e->d_name);
    for (const std::string &name : names) ::unlinkat(::dirfd(d), name.c_str(), 0);
    ::closedir(d);
    return names.size();
}

} // namespace

void remove_temp_files_of(const fs::path &final_path, long pid) {
    const std::string prefix = temp_prefix(final_path.filename().string(), pid);
    remove_names_in(final_path.parent_path(), [&](const std::string &name) { return name.rfind(prefix, 0) == 0; });
}

size_t remove_stale_temp_files(const fs::path &folder) {
    return remove_names_in(folder, [](const std::string &name) {
        if (!is_temp_file_name(name)) return false;
        // ".<name>.bp-tmp-<pid>-<random>"
        const long pid = std::strtol(name.c_str() + name.rfind(kTempMarker) + std::strlen(kTempMarker), nullptr, 10);
        return pid > 0 && !process_is_running(pid);
    });
}

void write_file_atomically(const fs::path &final_path, const void *data, size_t size, const WriteOptions &options) {
    const fs::path folder = final_path.parent_path();
    const std::string name = final_path.filename().string();
    if (!options.root.empty() && !is_within(folder, options.root))
        throw std::runtime_error("cannot write " + final_path.string() + ": it is outside " + options.root.string());
    const Fd dir = open_folder(folder, options);

    struct stat st {};
    if (!options.overwrite && ::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
        throw std::runtime_error("output " + final_path.string() + " exists and output.overwrite is false");

    const std::string tmp_name = temp_prefix(name, static_cast<long>(::getpid())) + random_hex();
    Fd fd(::openat(dir.get(), tmp_name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (fd.get() < 0) fail(folder / tmp_name, "cannot create temporary file", errno);
    TempFile guard(dir.get(), tmp_name, folder / tmp_name);
    write_all(fd.get(), data, size, folder / tmp_name);
    if (options.durable && ::fsync(fd.get()) != 0) fail(folder / tmp_name, "fsync failed", errno);
    if (::close(fd.release()) != 0) fail(folder / tmp_name, "close failed", errno);
    if (options.overwrite) {
        if (::renameat(dir.get(), tmp_name.c_str(), dir.get(), name.c_str()) != 0) fail(final_path, "rename failed", errno);
    } else if (rename_noreplace(dir.get(), tmp_name.c_str(), name.c_str()) != 0) {
        if (errno == EEXIST)
            throw std::runtime_error("output " + final_path.string() + " exists and output.overwrite is false");
        fail(final_path, "rename failed", errno);
    }
    guard.commit();
    if (options.durable) sync_folder(dir.get(), folder);
}

} // namespace batchproc
