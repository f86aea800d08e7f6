// The pipes between the coordinator and one worker. Jobs go out as framed messages on the
// job pipe; the worker answers with the slot number of each result it has filled.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace batchproc {

// An owned file descriptor.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd &&other) noexcept : fd_(other.release()) {}
    Fd &operator=(Fd &&other) noexcept;
    Fd(const Fd &) = delete;
    Fd &operator=(const Fd &) = delete;
    ~Fd() { reset(); }
    int get() const { return fd_; }
    int release() {
        const int fd = fd_;
        fd_ = -1;
        return fd;
    }
    void reset(int fd = -1);
    explicit operator bool() const { return fd_ >= 0; }

private:
    int fd_ = -1;
};

struct Pipe {
    Fd read;
    Fd write;
    static Pipe make(); // O_CLOEXEC on both ends
};

struct JobMessage {
    uint32_t slot = 0;
    int64_t index = 0;
    std::string input;  // path, "" for generated jobs
    std::string outputs; // the job's output paths, each ended by a NUL ("" when it writes none)
};

// A job's output paths as JobMessage::outputs carries them, and back (paths hold no NUL).
std::string pack_paths(const std::vector<std::filesystem::path> &paths);
std::vector<std::filesystem::path> unpack_paths(const std::string &packed);

// Appends one framed message to `out` (several can be written with one write()).
void encode_job(const JobMessage &msg, std::vector<char> &out);

// Writes all of `data`; returns false if the reader is gone (EPIPE) or on error.
bool write_all(int fd, const void *data, size_t size);

// Buffered reader of framed job messages on the worker's side.
class JobReader {
public:
    explicit JobReader(int fd) : fd_(fd) {}
    // Blocks for the next message; false at end of input (the coordinator closed the pipe
    // or died).
    bool next(JobMessage &msg);

private:
    bool fill(size_t need);
    int fd_;
    std::vector<char> buffer_;
    size_t start_ = 0;
};

} // namespace batchproc
