#include "journal/journal.hpp"
#include "support/run_helpers.hpp"

#include <gtest/gtest.h>

#include <sqlite3.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <iomanip>
#include <map>
#include <random>
#include <sstream>
#include <thread>

namespace fs = std::filesystem;
using namespace batchproc;
using batchproc::test::TempDir;

namespace {

const std::string kInvalidUtf8 = "caf\xe9.jpg";

// A long key of non-ASCII characters: 512 x "é" = 1 KiB of UTF-8.
std::string long_non_ascii_name() {
    std::string name;
    for (int i = 0; i < 512; ++i) name += "\xc3\xa9";
    return name;
}

// A row with every field set, all derived from `key` and `n`.
JournalRow sample_row(const std::string &key, int64_t n, const std::string &run_id = "run-a") {
    JournalRow row;
    row.key = key;
    row.input.exists = true;
    row.input.size = static_cast<uint64_t>(1000 + n);
    row.input.mtime_ns = 1'700'000'000'000'000'000 + n;
    row.input.dev = 0xfd00 + static_cast<uint64_t>(n);
    row.input.ino = 0xffff'ffff'ffff'0000ull + static_cast<uint64_t>(n & 0xff); // above INT64_MAX
    row.input.content_hash = hash_bytes("in" + std::to_string(n));
    row.recipe = hash_bytes("recipe");
    row.output_path = "/out/" + key + ".jpg";
    row.output.exists = n % 2 == 0;
    row.output.size = static_cast<uint64_t>(n) * 7;
    row.output.mtime_ns = -5 - n; // before 1970 is still a time
    row.output.dev = 3;
    row.output.ino = static_cast<uint64_t>(n) + 11;
    row.status = n % 3 == 0 ? "failed" : "ok";
    row.error = n % 3 == 0 ? "cannot decode " + kInvalidUtf8 + ": truncated" : "";
    row.attempts = static_cast<int>(1 + n % 4);
    row.died_running = static_cast<int>(n % 5);
    row.metrics_json = "{\"n\": " + std::to_string(n) + ", \"w\": 256}";
    row.ms = 12.5 + static_cast<double>(n) / 1024.0;
    row.worker_pid = 4000 + n;
    row.run_id = run_id;
    row.started_unix_ns = 1'700'000'001'000'000'000 + n;
    row.ended_unix_ns = 1'700'000'002'000'000'000 + n;
    return row;
}

std::string describe(const JournalRow &r) {
    std::ostringstream out;
    auto id = [&](const FileIdentity &f) {
        out << "{" << f.exists << "," << f.size << "," << f.mtime_ns << "," << f.dev << "," << f.ino << ","
            << f.content_hash << "}";
    };
    out << "key=" << testing::PrintToString(r.key) << " in=";
    id(r.input);
    out << " recipe=" << r.recipe << " out=" << testing::PrintToString(r.output_path) << " ";
    id(r.output);
    out << " status=" << r.status << " error=" << testing::PrintToString(r.error) << " attempts=" << r.attempts
        << " died=" << r.died_running << " metrics=" << r.metrics_json << " ms=" << r.ms << " pid=" << r.worker_pid
        << " run=" << r.run_id << " t=" << r.started_unix_ns << ".." << r.ended_unix_ns;
    for (const JournalOutput &o : r.more_outputs) {
        out << " more=" << testing::PrintToString(o.path) << " ";
        id(o.identity);
    }
    return out.str();
}

bool same_row(const JournalRow &a, const JournalRow &b) { return describe(a) == describe(b) && a.ms == b.ms; }

#define EXPECT_SAME_ROW(a, b) EXPECT_TRUE(same_row(a, b)) << "  got: " << describe(a) << "\n  want: " << describe(b)

std::string read_bytes(const fs::path &path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<fs::path> broken_files(const fs::path &journal) {
    std::vector<fs::path> found;
    const std::string prefix = journal.filename().string() + ".broken-";
    for (const auto &e : fs::directory_iterator(journal.parent_path())) {
        const std::string name = e.path().filename().string();
        if (name.rfind(prefix, 0) == 0 && name.find("-wal") == std::string::npos &&
            name.find("-shm") == std::string::npos)
            found.push_back(e.path());
    }
    return found;
}

// The sqlite3 C API, for building and inspecting databases by hand.
class RawDb {
public:
    explicit RawDb(const fs::path &path) {
        if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) throw std::runtime_error(sqlite3_errmsg(db_));
    }
    ~RawDb() { sqlite3_close(db_); }
    RawDb(const RawDb &) = delete;
    RawDb &operator=(const RawDb &) = delete;
    void exec(const std::string &sql) {
        char *err = nullptr;
        if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
            const std::string message = err ? err : "?";
            sqlite3_free(err);
            throw std::runtime_error(message + " in: " + sql);
        }
    }
    std::string text(const std::string &sql) {
        sqlite3_stmt *s = nullptr;
        if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) != SQLITE_OK)
            throw std::runtime_error(sqlite3_errmsg(db_));
        std::string value;
        if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
            value.assign(static_cast<const char *>(sqlite3_column_blob(s, 0)),
                         static_cast<size_t>(sqlite3_column_bytes(s, 0)));
        sqlite3_finalize(s);
        return value;
    }

private:
    sqlite3 *db_ = nullptr;
};

// Opens expecting open() itself to throw a JournalError; returns it (or fails the test).
JournalError open_error(const fs::path &path) {
    try {
        Journal::open(path, "run-x", false);
    } catch (const JournalError &e) {
        return e;
    }
    ADD_FAILURE() << "expected a JournalError opening " << path;
    return JournalError(JournalError::Reason::io, "");
}

bool contains(const std::string &text, const std::string &part) { return text.find(part) != std::string::npos; }

// A forked child that runs `body` and then dies by SIGKILL (its own or the parent's).
// Exit code 2 means `body` threw. A body that must die with a Journal still open (no
// destructor flushing it) calls die() itself.
pid_t fork_child(const std::function<void()> &body) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        try {
            body();
        } catch (const std::exception &e) {
            std::fprintf(stderr, "child: %s\n", e.what());
            ::_exit(2);
        }
        ::raise(SIGKILL);
        ::_exit(3);
    }
    return pid;
}

[[noreturn]] void die() {
    ::raise(SIGKILL);
    ::_exit(3);
}

void expect_killed(pid_t pid) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    EXPECT_EQ(WTERMSIG(status), SIGKILL);
}

} // namespace

TEST(Journal, RoundTripsEveryFieldByteForByte) {
    TempDir dir("bp-journal");
    const fs::path path = dir / "out/.batchproc/journal.sqlite"; // folders made on open
    std::vector<JournalRow> rows = {sample_row("photos/a.jpg", 0), sample_row(kInvalidUtf8, 1),
                                    sample_row(long_non_ascii_name(), 2), sample_row(std::string("nul\0key", 7), 3),
                                    sample_row("#17", 4)};
    rows[1].output_path = "/out/" + kInvalidUtf8;
    rows[4].input = FileIdentity{}; // a generated job
    rows[4].output.size = UINT64_MAX;
    rows[4].output.dev = UINT64_MAX;
    rows[4].output.mtime_ns = INT64_MIN;
    rows[4].worker_pid = INT64_MAX;
    rows[4].output_path = "";
    {
        Journal j = Journal::open(path, "run-a", false);
        EXPECT_EQ(j.path(), path);
        for (const JournalRow &r : rows) j.record(r);
        const auto seen = j.load(); // this run sees its own pending rows
        EXPECT_EQ(seen.size(), rows.size());
        j.flush();
    }
    Journal j = Journal::open(path, "run-b", false);
    const auto loaded = j.load();
    ASSERT_EQ(loaded.size(), rows.size());
    for (const JournalRow &r : rows) {
        const auto it = loaded.find(r.key);
        ASSERT_NE(it, loaded.end()) << testing::PrintToString(r.key);
        EXPECT_SAME_ROW(it->second, r);
    }
    EXPECT_EQ(loaded.at(kInvalidUtf8).output_path, "/out/caf\xe9.jpg");
    EXPECT_EQ(loaded.at(long_non_ascii_name()).key.size(), 1024u);
}

TEST(Journal, ALaterRowOfAKeyReplacesTheEarlierOne) {
    TempDir dir("bp-journal");
    const fs::path path = dir / "journal.sqlite";
    JournalRow first = sample_row("a.jpg", 3);
    JournalRow second = sample_row("a.jpg", 4);
    {
        Journal j = Journal::open(path, "run-a", false);
        j.record(first);
        j.flush();
        j.record(second);
        j.record(sample_row("b.jpg", 5));
    }
    Journal j = Journal::open(path, "run-b", false);
    const auto loaded = j.load();
    EXPECT_EQ(loaded.size(), 2u);
    EXPECT_SAME_ROW(loaded.at("a.jpg"), second);
}

TEST(Journal, LoadRewritesTheJournalWhenSupersededEntriesOutnumberTheRows) {
    TempDir dir("bp-journal");
    const fs::path path = dir / "journal.sqlite";
    const auto stored_entries = [&] { return RawDb(path).text("SELECT sum(entries) FROM batches"); };
    {
        Journal j = Journal::open(path, "run-a", false);
        for (int n = 0; n < 5; ++n)
            for (int i = 0; i < 3000; ++i) j.record(sample_row("photos/" + std::to_string(i) + ".jpg", n));
    }
    ASSERT_EQ(stored_entries(), "15000");
    {
        Journal j = Journal::open(path, "run-b", false);
        const auto loaded = j.load();
        ASSERT_EQ(loaded.size(), 3000u);
        EXPECT_SAME_ROW(loaded.at("photos/7.jpg"), sample_row("photos/7.jpg", 4));
    }
    EXPECT_EQ(stored_entries(), "3000");
    {
        // A few superseded entries are left alone (reading them costs less than a rewrite).
        Journal j = Journal::open(path, "run-c", false);
        for (int i = 0; i < 10; ++i) j.record(sample_row("photos/" + std::to_string(i) + ".jpg", 5));
        j.flush();
        EXPECT_EQ(j.load().size(), 3000u);
    }
    EXPECT_EQ(stored_entries(), "3010");
    Journal j = Journal::open(path, "run-d", false);
    EXPECT_SAME_ROW(j.load().at("photos/7.jpg"), sample_row("photos/7.jpg", 5));
}

TEST(Journal, ABatchThatFailsItsChecksumIsRefusedAsDamaged) {
    TempDir dir("bp-journal");
    const fs::path path = dir / "journal.sqlite";
    {
        Journal j = Journal::open(path, "run-a", false);
        j.record(sample_row("a.jpg", 1));
    }
    RawDb(path).exec("UPDATE batches SET data = CAST('garbage' AS BLOB)");
    try {
        Journal j = Journal::open(path, "run-b", false);
        j.load();
        ADD_FAILURE() << "a damaged batch was read";
    } catch (const JournalError &e) {
        EXPECT_EQ(e.reason(), JournalError::Reason::not_a_journal);
        EXPECT_TRUE(contains(e.what(), "journal " + path.string() + " is damaged (batch 1 does not match its checksum)"))
            << e.what();
        EXPECT_TRUE(contains(e.what(), "--force")) << e.what();
    }
    EXPECT_THROW(read_journal_rows(path), JournalError);
}

TEST(Journal, MarkRunningKeepsThePreviousRowExceptItsRunAndStart) {
    TempDir dir("bp-journal");
    const fs::path path = dir / "journal.sqlite";
    const JournalRow done = sample_row(kInvalidUtf8, 6, "run-a");
    {
        Journal j = Journal::open(path, "run-a", false);
        j.record(done);
    }
    Journal j = Journal::open(path, "run-b", false);
    j.mark_running(kInvalidUtf8, 42);
    j.mark_running("new.jpg", 43);
    auto loaded = j.load();
    JournalRow expected = done;
    expected.status = "running";
    expected.run_id = "run-b";
    expected.started_unix_ns = 42;
    EXPECT_SAME_ROW(loaded.at(kInvalidUtf8), expected);
    const JournalRow &fresh = loaded.at("new.jpg");
    EXPECT_EQ(fresh.status, "running");
    EXPECT_EQ(fresh.run_id, "run-b");
    EXPECT_EQ(fresh.started_unix_ns, 43);
    EXPECT_FALSE(fresh.input.exists);
    EXPECT_EQ(fresh.metrics_json, "{}");
    EXPECT_EQ(fresh.died_running, 0);

    const JournalRow outcome = sample_row("new.jpg", 7, "run-b");
    j.record(outcome); // replaces the running row
    EXPECT_SAME_ROW(j.load().at("new.jpg"), outcome);
}

TEST(Journal, FlushedRowsSurviveSigkillAndUnflushedOnesAreWhollyAbsent) {
    TempDir dir("bp-journal");
    const fs::path path = dir / "journal.sqlite";
    const int flushed = 50, unflushed = 30;
    const pid_t child = fork_child([&] {
        Journal j = Journal::open(path, "run-child", false);
        j.set_batch_limits(100'000, std::chrono::hours(1)); // only flush() commits
        for (int i = 0; i < flushed; ++i) j.record(sample_row("k" + std::to_string(i), i));
        j.flush();
        for (int i = flushed; i < flushed + unflushed; ++i) j.record(sample_row("k" + std::to_string(i), i));
        die();
    });
    expect_killed(child);

    Journal j = Journal::open(path, "run-after", false); // the dead run's lock is free
    const auto loaded = j.load();
    EXPECT_EQ(loaded.size(), static_cast<size_t>(flushed));
    for (int i = 0; i < flushed + unflushed; ++i) {
        const auto it = loaded.find("k" + std::to_string(i));
        if (i < flushed) {
            ASSERT_NE(it, loaded.end()) << i;
            EXPECT_SAME_ROW(it->second, sample_row("k" + std::to_string(i), i));
        } else {
            EXPECT_EQ(it, loaded.end()) << i;
        }
    }
    const std::vector<JournalRun> runs = j.runs();
    ASSERT_EQ(runs.size(), 2u);
    EXPECT_EQ(runs[0].run_id, "run-child");
    EXPECT_EQ(runs[0].pid, child);
    EXPECT_FALSE(runs[0].ended_unix_ns.has_value()); // it died
    EXPECT_FALSE(runs[0].exit_code.has_value());
}

TEST(Journal, ABatchIsCommittedWhenMaxRowsArePending) {
    TempDir dir("bp-journal");
    const fs::path path = dir / "journal.sqlite";
    const pid_t child = fork_child([&] {
        Journal j = Journal::open(path, "run-child", false);
        j.set_batch_limits(10, std::chrono::hours(1));
        for (int i = 0; i < 25; ++i) j.record(sample_row("k" + std::to_string(i), i));
        die();
    });
    expect_killed(child);
    Journal j = Journal::open(path, "run-after", false);
    const auto loaded = j.load();
    EXPECT_EQ(loaded.size(), 20u); // two whole batches of 10
    for (int i = 0; i < 20; ++i) EXPECT_EQ(loaded.count("k" + std::to_string(i)), 1u) << i;
}

TEST(Journal, ABatchIsCommittedWhenMaxAgeHasPassed) {
    TempDir dir("bp-journal");
    const fs::path path = dir / "journal.sqlite";
    const pid_t child = fork_child([&] {
        Journal j = Journal::open(path, "run-child", false);
        j.set_batch_limits(1000, std::chrono::milliseconds(0)); // every call is past the age
        for (int i = 0; i < 7; ++i) j.record(sample_row("k" + std::to_string(i), i));
        j.mark_running("k0", 99);
        die();
    });
    expect_killed(child);
    Journal j = Journal::open(path, "run-after", false);
    const auto loaded = j.load();
    EXPECT_EQ(loaded.size(), 7u);
    EXPECT_EQ(loaded.at("k0").status, "running");
    EXPECT_EQ(loaded.at("k0").started_unix_ns, 99);
}

TEST(Journal, EveryRowReportedFlushedSurvivesSigkillAtRandomMoments) {
    TempDir dir("bp-journal");
    const fs::path path = dir / "journal.sqlite";
    const unsigned seed = std::random_device{}();
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    std::map<std::string, JournalRow> flushed_rows;
    for (int round = 0; round < 10; ++round) {
        SCOPED_TRACE("round " + std::to_string(round));
        const std::string prefix = "r" + std::to_string(round) + "/";
        int fds[2];
        ASSERT_EQ(::pipe(fds), 0);
        const pid_t child = fork_child([&] {
            ::close(fds[0]);
            Journal j = Journal::open(path, "run-" + std::to_string(round), false); // default batch limits
            for (int32_t i = 0; i < 10'000'000; ++i) {
                j.record(sample_row(prefix + std::to_string(i), i));
                if (i % 37 == 36) {
                    j.flush();
                    const int32_t count = i + 1; // rows 0..i are committed
                    if (::write(fds[1], &count, sizeof count) != sizeof count) ::_exit(4);
                }
            }
        });
        ::close(fds[1]);
        // Let it report a random number of flushes, wait a random moment more, then kill it.
        const int reports = std::uniform_int_distribution<int>(1, 40)(rng);
        int32_t committed = 0, count = 0;
        for (int r = 0; r < reports && ::read(fds[0], &count, sizeof count) == sizeof count; ++r) committed = count;
        std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, 3000)(rng)));
        ::kill(child, SIGKILL);
        expect_killed(child);
        while (::read(fds[0], &count, sizeof count) == sizeof count) committed = count;
        ::close(fds[0]);
        ASSERT_GT(committed, 0);

        Journal j = Journal::open(path, "check-" + std::to_string(round), false);
        const auto loaded = j.load();
        for (int32_t i = 0; i < committed; ++i) flushed_rows[prefix + std::to_string(i)] = sample_row(prefix + std::to_string(i), i);
        for (const auto &[key, row] : flushed_rows) {
            const auto it = loaded.find(key);
            ASSERT_NE(it, loaded.end()) << key;
            EXPECT_SAME_ROW(it->second, row);
        }
        // Rows committed after the last report (by the age or size rule) are whole too.
        for (const auto &[key, row] : loaded) {
            const size_t slash = key.find('/');
            const int64_t n = std::stoll(key.substr(slash + 1));
            EXPECT_SAME_ROW(row, sample_row(key, n));
        }
    }
}

TEST(Journal, ASecondOpenFailsAtOnceNamingTheOwnersPid) {
    TempDir dir("bp-journal");
    const fs::path path = dir / "journal.sqlite";
    {
        Journal first = Journal::open(path, "run-a", false);
        const auto start = std::chrono::steady_clock::now();
        const JournalError e = open_error(path);
        EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2)); // no waiting on the lock
        EXPECT_EQ(e.reason(), JournalError::Reason::in_use);
        const std::string message = e.what();
        EXPECT_TRUE(contains(message, "journal " + path.string() + " is in use by another batchproc run (pid " +
                                          std::to_string(::getpid()) + ")"))
            << message;
        EXPECT_TRUE(contains(message, "give this run its own journal (journal: PATH)")) << message;
        EXPECT_TRUE(contains(read_bytes(dir / "journal.sqlite.lock"), std::to_string(::getpid())));
    }
    EXPECT_NO_THROW(Journal::open(path, "run-b", false));
}

TEST(Journal, ALockHeldByAnotherProcessNamesItsPidAndDiesWithIt) {
    TempDir dir("bp-journal");
    const fs::path path = dir / "journal.sqlite";
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t child = fork_child([&] {
        Journal j = Journal::open(path, "run-child", false);
        const char ready = 'r';
        if (::write(fds[1], &ready, 1) != 1) ::_exit(4);
        ::pause();
    });
    ::close(fds[1]);
    char ready = 0;
    ASSERT_EQ(::read(fds[0], &ready, 1), 1);
    ::close(fds[0]);
    const JournalError e = open_error(path);
    EXPECT_EQ(e.reason(), JournalError::Reason::in_use);
    EXPECT_TRUE(contains(e.what(), "(pid " + std::to_string(child) + ")")) << e.what();
    ::kill(child, SIGKILL);
    expect_killed(child);
    EXPECT_NO_THROW(Journal::open(path, "run-after", false)); // the kernel dropped the lock
}

TEST(Journal, AGarbageFileIsRefusedUntouchedAndForceMovesItAside) {
    TempDir dir("bp-journal");
    const fs::path path = dir / "journal.sqlite";
    std::string garbage;
    for (int i = 0; i < 200; ++i) garbage += "this is not a database, line " + std::to_string(i) + "\n";
    batchproc::test::write_text(path, garbage);

    const JournalError e = open_error(path);
    EXPECT_EQ(e.reason(), JournalError::Reason::not_a_journal);
    EXPECT_TRUE(contains(e.what(), path.string() + " is not an SQLite database")) << e.what();
    EXPECT_TRUE(contains(e.what(), "run with --force to start a new journal (the old one is moved aside to " +
                                       path.string() + ".broken-")) << e.what();
    EXPECT_EQ(read_bytes(path), garbage);

    {
        Journal j = Journal::open(path, "run-forced", true);
        EXPECT_TRUE(j.load().empty());
        j.record(sample_row("a", 1));
    }
    const auto broken = broken_files(path);
    ASSERT_EQ(broken.size(), 1u);
    EXPECT_EQ(read_bytes(broken[0]), garbage);
    Journal j = Journal::open(path, "run-after", false);
    EXPECT_EQ(j.load().size(), 1u);
}

TEST(Journal, AForeignDatabaseWithAWalIsLeftAsItWasAndForceMovesTheWalAlong) {
    TempDir dir("bp-journal");
    const fs::path path = dir / "journal.sqlite";
    const std::string wal = path.string() + "-wal";
    {
        // A WAL-mode database of something else, as its program left it when killed: its
        // rows are in the -wal file only.
        RawDb raw(path);
        raw.exec("PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;"
                 "CREATE TABLE photos(name TEXT); INSERT INTO photos VALUES ('a.jpg');");
        fs::copy_file(path, dir / "saved-main");
        fs::copy_file(wal, dir / "saved-wal");
    }
    fs::copy_file(dir / "saved-main", path, fs::copy_options::overwrite_existing);
    fs::copy_file(dir / "saved-wal", wal, fs::copy_options::overwrite_existing);
    const std::string main_before = read_bytes(path), wal_before = read_bytes(wal);

    const JournalError e = open_error(path);
    EXPECT_EQ(e.reason(), JournalError::Reason::not_a_journal);
    EXPECT_TRUE(contains(e.what(), "not a batchproc journal (it holds the tables photos")) << e.what();
    // Not checkpointed on close: neither file changed.
    EXPECT_TRUE(read_bytes(path) == main_before) << "the database file changed";
    ASSERT_TRUE(fs::exists(wal));
    EXPECT_TRUE(read_bytes(wal) == wal_before) << "its WAL changed";

    {
        Journal j = Journal::open(path, "run-forced", true);
        EXPECT_TRUE(j.load().empty());
    }
    const auto broken = broken_files(path);
    ASSERT_EQ(broken.size(), 1u);
    EXPECT_TRUE(read_bytes(broken[0].string() + "-wal") == wal_before) << "the WAL did not move along";
    RawDb kept(broken[0]); // the moved-aside copy still reads, WAL and all
    EXPECT_EQ(kept.text("SELECT name FROM photos"), "a.jpg");
}

TEST(Journal, ATruncatedJournalIsRefusedAndForceMovesItAside) {
    TempDir dir("bp-journal");
    const fs::path path = dir / "journal.sqlite";
    {
        Journal j = Journal::open(path, "run-a", false);
        for (int i = 0; i < 3000; ++i) j.record(sample_row("photos/" + std::to_string(i) + ".jpg", i));
    }
    RawDb(path).exec("PRAGMA wal_checkpoint(TRUNCATE)"); // everything into the database file
    for (const char *suffix : {"-wal", "-shm"}) fs::remove(path.string() + suffix);
    const auto full = fs::file_size(path);
    ASSERT_GT(full, 100'000u);
    fs::resize_file(path, full / 2);
    const std::string half = read_bytes(path);

    const JournalError e = open_error(path);
    EXPECT_EQ(e.reason(), JournalError::Reason::not_a_journal);
    EXPECT_TRUE(contains(e.what(), "journal " + path.string() + " is damaged")) << e.what();
    EXPECT_TRUE(contains(e.what(), "--force")) << e.what();
    EXPECT_TRUE(read_bytes(path) == half) << "the damaged file changed";

    Journal j = Journal::open(path, "run-forced", true);
    EXPECT_TRUE(j.load().empty());
    const auto broken = broken_files(path);
    ASSERT_EQ(broken.size(), 1u);
    EXPECT_TRUE(read_bytes(broken[0]) == half) << "the damaged file was not kept aside as it was";
}

TEST(Journal, AForeignSqliteDatabaseIsRefusedUntouchedAndForceMovesItAside) {
    TempDir dir("bp-journal");
    const fs::path path = dir / "journal.sqlite";
    {
        RawDb raw(path);
        raw.exec("CREATE TABLE photos(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO photos(name) VALUES ('a.jpg');");
        raw.exec("CREATE TABLE meta(name TEXT, value TEXT);"); // a meta table, but not ours
    }
    const std::string before = read_bytes(path);

    const JournalError e = open_error(path);
    EXPECT_EQ(e.reason(), JournalError::Reason::not_a_journal);
    EXPECT_TRUE(contains(e.what(), "journal " + path.string() + " is an SQLite database but not a batchproc journal"))
        << e.what();
    EXPECT_TRUE(contains(e.what(), "meta, photos")) << e.what();
    EXPECT_TRUE(contains(e.what(), "--force")) << e.what();
    EXPECT_TRUE(read_bytes(path) == before) << "the database file changed"; // not even its journal mode

    {
        Journal j = Journal::open(path, "run-forced", true);
        EXPECT_TRUE(j.load().empty());
    }
    const auto broken = broken_files(path);
    ASSERT_EQ(broken.size(), 1u);
    RawDb kept(broken[0]);
    EXPECT_EQ(kept.text("SELECT name FROM photos"), "a.jpg");
}

TEST(Journal, ANewerSchemaVersionIsRefusedAndForceMovesItAside) {
    TempDir dir("bp-journal");
    const fs::path path = dir / "journal.sqlite";
    {
        Journal j = Journal::open(path, "run-a", false);
        j.record(sample_row("a", 1));
    }
    {
        RawDb raw(path);
        raw.exec("UPDATE meta SET value = '5' WHERE name = 'schema_version'");
    }
    const JournalError e = open_error(path);
    EXPECT_EQ(e.reason(), JournalError::Reason::newer_version);
    EXPECT_TRUE(contains(e.what(), "journal " + path.string() + " was written by a newer batchproc")) << e.what();
    EXPECT_TRUE(contains(e.what(), "version 5")) << e.what();
    EXPECT_TRUE(contains(e.what(), "--force")) << e.what();
    {
        Journal j = Journal::open(path, "run-forced", true);
        EXPECT_TRUE(j.load().empty());
    }
    const auto broken = broken_files(path);
    ASSERT_EQ(broken.size(), 1u);
    RawDb kept(broken[0]);
    EXPECT_EQ(kept.text("SELECT value FROM meta WHERE name = 'schema_version'"), "5");
}

TEST(Journal, ForceOnAGoodJournalKeepsTheFileAndDropsItsRows) {
    TempDir dir("bp-journal");
    const fs::path path = dir / "journal.sqlite";
    {
        Journal j = Journal::open(path, "run-a", false);
        j.record(sample_row("a", 1));
        j.end_run(0);
    }
    Journal j = Journal::open(path, "run-forced", true);
    EXPECT_TRUE(j.load().empty());
    EXPECT_TRUE(broken_files(path).empty());
    ASSERT_EQ(j.runs().size(), 1u);
    EXPECT_EQ(j.runs()[0].run_id, "run-forced");
}

// A journal of schema version 1 (batchproc 1.0: no jobs.died_running) or 2 (one SQL row
// per job) holding `row` and one finished run.
void write_legacy_journal(const fs::path &path, int version, const JournalRow &r) {
    RawDb raw(path);
    raw.exec(std::string(R"sql(
PRAGMA journal_mode = WAL;
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('format', 'batchproc-journal'), ('schema_version', ')sql") + std::to_string(version) + R"sql(');
CREATE TABLE jobs (
  key BLOB PRIMARY KEY,
  in_exists INTEGER NOT NULL DEFAULT 0, in_size INTEGER NOT NULL DEFAULT 0,
  in_mtime_ns INTEGER NOT NULL DEFAULT 0, in_dev INTEGER NOT NULL DEFAULT 0,
  in_ino INTEGER NOT NULL DEFAULT 0, in_hash TEXT NOT NULL DEFAULT '',
  recipe TEXT NOT NULL DEFAULT '',
  out_path BLOB NOT NULL DEFAULT x'',
  out_exists INTEGER NOT NULL DEFAULT 0, out_size INTEGER NOT NULL DEFAULT 0,
  out_mtime_ns INTEGER NOT NULL DEFAULT 0, out_dev INTEGER NOT NULL DEFAULT 0,
  out_ino INTEGER NOT NULL DEFAULT 0, out_hash TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL DEFAULT '', error BLOB NOT NULL DEFAULT x'',
  attempts INTEGER NOT NULL DEFAULT 0,
  metrics_json TEXT NOT NULL DEFAULT '{}', ms REAL NOT NULL DEFAULT 0,
  worker_pid INTEGER NOT NULL DEFAULT 0, run_id TEXT NOT NULL DEFAULT '',
  started_unix_ns INTEGER NOT NULL DEFAULT 0, ended_unix_ns INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE TABLE runs (
  seq INTEGER PRIMARY KEY, run_id TEXT NOT NULL, pid INTEGER NOT NULL, command BLOB NOT NULL,
  started_unix_ns INTEGER NOT NULL, ended_unix_ns INTEGER, exit_code INTEGER,
  death_counted INTEGER NOT NULL DEFAULT 0);
INSERT INTO runs(run_id, pid, command, started_unix_ns, ended_unix_ns, exit_code)
  VALUES ('run-a', 77, 'batchproc run a.yaml', 1, 2, 0);
)sql");
    // Version 2 added died_running, last of the columns.
    if (version == 2) raw.exec("ALTER TABLE jobs ADD COLUMN died_running INTEGER NOT NULL DEFAULT 0;");
    std::ostringstream sql;
    sql << std::setprecision(17) << "INSERT INTO jobs VALUES (x'636166e92e6a7067', 1, "
        << static_cast<int64_t>(r.input.size) << ", " << r.input.mtime_ns << ", " << static_cast<int64_t>(r.input.dev)
        << ", " << static_cast<int64_t>(r.input.ino) << ", '" << r.input.content_hash << "', '" << r.recipe
        << "', CAST('" << r.output_path.substr(0, 5) << "' AS BLOB) || x'636166e92e6a7067' || CAST('.jpg' AS BLOB), "
        << r.output.exists << ", " << r.output.size << ", " << r.output.mtime_ns << ", " << r.output.dev << ", "
        << r.output.ino << ", '', '" << r.status << "', CAST('' AS BLOB), " << r.attempts << ", '" << r.metrics_json
        << "', " << r.ms << ", " << r.worker_pid << ", '" << r.run_id << "', " << r.started_unix_ns << ", "
        << r.ended_unix_ns;
    if (version == 2) sql << ", " << r.died_running;
    sql << ")";
    raw.exec(sql.str());
}

TEST(Journal, OlderSchemaVersionsAreReadAsTheyAreAndMigratedInPlace) {
    for (const int version : {1, 2}) {
        SCOPED_TRACE("schema version " + std::to_string(version));
        TempDir dir("bp-journal");
        const fs::path path = dir / "journal.sqlite";
        JournalRow old_row = sample_row(kInvalidUtf8, 8);
        old_row.died_running = version == 1 ? 0 : 2;
        write_legacy_journal(path, version, old_row);
        ASSERT_EQ(old_row.output_path, "/out/" + kInvalidUtf8 + ".jpg");
        ASSERT_EQ(old_row.error, ""); // n = 8 is an "ok" row

        // Read-only readers (batchproc status) read it as it is.
        const auto read = read_journal_rows(path);
        ASSERT_EQ(read.size(), 1u);
        EXPECT_SAME_ROW(read.at(kInvalidUtf8), old_row);
        EXPECT_EQ(RawDb(path).text("SELECT value FROM meta WHERE name = 'schema_version'"), std::to_string(version));

        {
            Journal j = Journal::open(path, "run-b", false);
            const auto loaded = j.load();
            ASSERT_EQ(loaded.size(), 1u);
            EXPECT_SAME_ROW(loaded.at(kInvalidUtf8), old_row);
            ASSERT_EQ(j.runs().size(), 2u);
            EXPECT_EQ(j.runs()[0].command, "batchproc run a.yaml");
            JournalRow died = sample_row("d", 9);
            died.died_running = 3;
            j.record(died);
        }
        RawDb raw(path);
        EXPECT_EQ(raw.text("SELECT value FROM meta WHERE name = 'schema_version'"), "4");
        EXPECT_EQ(raw.text("SELECT count(*) FROM sqlite_master WHERE name = 'jobs'"), "0");
        const auto migrated = read_journal_rows(path);
        ASSERT_EQ(migrated.size(), 2u);
        EXPECT_SAME_ROW(migrated.at(kInvalidUtf8), old_row);
        EXPECT_EQ(migrated.at("d").died_running, 3);
    }
}

// Version 3 is version 4 without rows of several outputs: the number changes, the batches stay.
TEST(Journal, AVersion3JournalIsMigratedByItsNumberAndRowsOfSeveralOutputsComeBack) {
    TempDir dir("bp-journal");
    const fs::path path = dir / "journal.sqlite";
    const JournalRow old_row = sample_row("a", 4);
    {
        Journal j = Journal::open(path, "run-a", false);
        j.record(old_row);
    }
    RawDb(path).exec("UPDATE meta SET value = '3' WHERE name = 'schema_version'");
    JournalRow several = sample_row("b", 5);
    several.more_outputs = {{"/out/web/b.webp", {}}, {"/out/" + kInvalidUtf8 + "-400w.jpg", {}}};
    several.more_outputs[0].identity.exists = true;
    several.more_outputs[0].identity.size = 1234;
    several.more_outputs[1].identity.mtime_ns = -7;
    {
        Journal j = Journal::open(path, "run-b", false);
        const auto loaded = j.load();
        ASSERT_EQ(loaded.size(), 1u);
        EXPECT_SAME_ROW(loaded.at("a"), old_row);
        j.record(several);
    }
    EXPECT_EQ(RawDb(path).text("SELECT value FROM meta WHERE name = 'schema_version'"), "4");
    const auto rows = read_journal_rows(path);
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_SAME_ROW(rows.at("a"), old_row);
    EXPECT_SAME_ROW(rows.at("b"), several);
}

TEST(Journal, ARunThatDiesWhileAJobRunsCountsOnceAgainstThatJob) {
    TempDir dir("bp-journal");
    const fs::path path = dir / "journal.sqlite";
    const auto die_while_running = [&](const std::string &run_id) {
        const pid_t child = fork_child([&] {
            Journal j = Journal::open(path, run_id, false, "batchproc run poison.yaml");
            j.mark_running("poison.jpg", 5);
            j.flush();
            die();
        });
        expect_killed(child);
    };
    die_while_running("run-1");
    {
        Journal j = Journal::open(path, "run-2", false);
        const auto loaded = j.load();
        EXPECT_EQ(loaded.at("poison.jpg").status, "running");
        EXPECT_EQ(loaded.at("poison.jpg").died_running, 1);
        const auto runs = j.runs();
        ASSERT_EQ(runs.size(), 2u);
        EXPECT_EQ(runs[0].command, "batchproc run poison.yaml");
        EXPECT_FALSE(runs[0].ended_unix_ns.has_value());
        j.mark_running("fine.jpg", 6); // left running by a run that ends: not a death
        j.end_run(1);
    }
    {
        Journal j = Journal::open(path, "run-3", false);
        const auto loaded = j.load();
        EXPECT_EQ(loaded.at("poison.jpg").died_running, 1); // the same death is not counted twice
        EXPECT_EQ(loaded.at("fine.jpg").died_running, 0);
        const auto runs = j.runs();
        ASSERT_EQ(runs.size(), 3u);
        ASSERT_TRUE(runs[1].exit_code.has_value());
        EXPECT_EQ(*runs[1].exit_code, 1);
        EXPECT_TRUE(runs[1].ended_unix_ns.has_value());
        EXPECT_FALSE(runs[2].ended_unix_ns.has_value()); // this one, still going
        j.end_run(0);
    }
    die_while_running("run-4");
    Journal j = Journal::open(path, "run-5", false);
    EXPECT_EQ(j.load().at("poison.jpg").died_running, 2);
}

TEST(Journal, RecordsFromSeveralThreadsAllArrive) {
    TempDir dir("bp-journal");
    const fs::path path = dir / "journal.sqlite";
    {
        Journal j = Journal::open(path, "run-a", false);
        j.set_batch_limits(100, std::chrono::milliseconds(250));
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t)
            threads.emplace_back([&j, t] {
                for (int i = 0; i < 500; ++i) j.record(sample_row(std::to_string(t) + "/" + std::to_string(i), i));
            });
        for (auto &th : threads) th.join();
    }
    Journal j = Journal::open(path, "run-b", false);
    const auto loaded = j.load();
    EXPECT_EQ(loaded.size(), 2000u);
    EXPECT_SAME_ROW(loaded.at("3/499"), sample_row("3/499", 499));
}
