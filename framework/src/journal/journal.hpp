// The run journal: every job's outcome, recorded durably in an SQLite database so that a
// rerun can skip the jobs whose input, recipe and output are unchanged. This is the storage
// layer only; what to record when, and what to skip, is the engine's business.
//
// One journal serves one run at a time (an exclusive lock for the run's lifetime). Writes
// are batched into transactions; a committed batch survives a SIGKILL of the process at any
// moment, and a row is either wholly there or not at all.
#pragma once

#include "journal/file_identity.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace batchproc {

// A sentence a person can act on, naming the journal file.
class JournalError : public std::runtime_error {
public:
    enum class Reason {
        in_use,        // another run holds the journal
        not_a_journal, // garbage, damaged, or an SQLite database of something else: --force helps
        newer_version, // written by a newer batchproc: --force helps (the file is kept aside)
        io             // cannot create, read or write it (permissions, disk full...)
    };
    JournalError(Reason reason, const std::string &message) : std::runtime_error(message), reason_(reason) {}
    Reason reason() const { return reason_; }

private:
    Reason reason_;
};

// An output of a job after its first (a pipeline with several output stages).
struct JournalOutput {
    std::string path;           // absolute path; arbitrary bytes
    FileIdentity identity;      // after it was written
};

struct JournalRow {
    std::string key;            // input path relative to its input root, or "#<index>"; arbitrary bytes (a BLOB)
    FileIdentity input;         // of the input when the job ran (exists = false for generated jobs)
    std::string recipe;         // the recipe stamp (hex), opaque here
    std::string output_path;    // absolute output path ("" when none); arbitrary bytes
    FileIdentity output;        // of the output after it was written
    std::vector<JournalOutput> more_outputs; // the job's other outputs, in pipeline order
    std::string status;         // ok, failed, timeout, crashed, interrupted, skipped, or running (mark_running)
    std::string error;
    int attempts = 0;
    int died_running = 0;       // how many runs died (the whole process) while this job was running
    std::string metrics_json = "{}";
    double ms = 0;
    int64_t worker_pid = 0;
    std::string run_id;
    int64_t started_unix_ns = 0, ended_unix_ns = 0;
};

// One run of batchproc on the journal, from begin (at open) to end_run().
struct JournalRun {
    std::string run_id;
    int64_t pid = 0;
    std::string command;                 // argv / config path, as given to open()
    int64_t started_unix_ns = 0;
    std::optional<int64_t> ended_unix_ns; // no end: the run died (or is the current one)
    std::optional<int> exit_code;
};

// All members may be called from several threads (one mutex inside); one process writes.
// Errors are JournalError: io for a failed read or write (a failed commit can lose the
// pending batch: those jobs simply run again), not_a_journal when SQLite finds the file
// damaged mid-run. A moved-from Journal may only be destroyed or assigned to.
class Journal {
public:
    static constexpr int kSchemaVersion = 4;

    // Opens (creating it and its folder when missing) the journal at `path` for one run with
    // id `run_id`; `command` (argv or the config path) is kept in the runs table for people.
    // - Locks "<path>.lock" with flock(LOCK_EX | LOCK_NB): a second run fails at once with
    //   JournalError(in_use) naming the owner's pid.
    // - Not an SQLite database, a damaged one, one of something else, or a newer schema
    //   version: JournalError naming the file and suggesting --force. An older schema is
    //   migrated in place.
    // - `fresh` (--force): a file that is not a usable journal is renamed to
    //   "<path>.broken-<timestamp>" (with its -wal/-shm); a good journal just loses its rows.
    // - Rows left "running" by a run that died count one more died_running.
    static Journal open(const std::filesystem::path &path, const std::string &run_id, bool fresh,
                        std::string_view command = {});
    ~Journal(); // commits what is pending; never throws
    Journal(Journal &&) noexcept;
    Journal &operator=(Journal &&) noexcept;
    Journal(const Journal &) = delete;
    Journal &operator=(const Journal &) = delete;

    const std::filesystem::path &path() const;

    // The latest row of every key (commits what is pending first). Writes append; when the
    // entries superseded by later ones outnumber the live rows, load() rewrites the journal
    // with one entry per key.
    std::unordered_map<std::string, JournalRow> load();
    // Records a job's outcome (replaces the key's row, died_running included as given).
    // Buffered: the pending entries are committed as one batch when `max_rows` are pending
    // or `max_age` passed since the last commit (checked on each call), and by flush().
    void record(const JournalRow &row);
    // Before a job runs (serial/threads mode): status "running", run_id and started_unix_ns
    // set, every other field of the key's previous row kept. Buffered like record().
    void mark_running(const std::string &key, int64_t started_unix_ns);
    void flush(); // commits everything pending now
    // Records the end of this run (and commits everything). A run with no end died.
    void end_run(int exit_code);
    // Every run recorded on this journal, oldest first (the current one last).
    std::vector<JournalRun> runs();

    // The commit policy; the defaults are 4096 rows / 250 ms. A max_age of zero commits on
    // every call. Tests use this to make batching deterministic.
    void set_batch_limits(size_t max_rows, std::chrono::milliseconds max_age);

private:
    struct Impl;
    explicit Journal(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// The rows of the journal at `path`, read-only and without taking the run lock (for
// `batchproc status` and for tests; a run may be writing meanwhile: what was committed is
// seen). Empty when there is no journal there; JournalError for a file that is not one.
std::unordered_map<std::string, JournalRow> read_journal_rows(const std::filesystem::path &path);

// Nanoseconds since the Unix epoch, for started/ended stamps.
int64_t unix_now_ns();

} // namespace batchproc
