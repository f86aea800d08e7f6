#include "journal/journal.hpp"

#include "journal/journal_codec.hpp"
#include "journal/journal_lock.hpp"
#include "journal/journal_schema.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <spdlog/spdlog.h>

#include <sqlite3.h>
#include <unistd.h>

#include <ctime>
#include <time.h>
#include <mutex>
#include <system_error>
#include <unordered_set>

namespace fs = std::filesystem;

namespace batchproc {

int64_t unix_now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

namespace {

// The batch-age clock: record() reads it for every job, and a coarse clock (a few ms of
// resolution, against a 250 ms batch age) costs a fraction of the precise one.
struct Clock {
    using duration = std::chrono::nanoseconds;
    using rep = duration::rep;
    using period = duration::period;
    using time_point = std::chrono::time_point<Clock>;
    static constexpr bool is_steady = true;
    static time_point now() {
        timespec ts{};
        clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
        return time_point(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
    }
};

// Arbitrary bytes, stored byte for byte.
void bind_blob(SQLite::Statement &s, int index, const std::string &bytes) {
    s.bindNoCopy(index, static_cast<const void *>(bytes.data()), static_cast<int>(bytes.size()));
}

// Resets a reused statement however its use ends, so that the next use starts clean.
struct ResetOnExit {
    SQLite::Statement &statement;
    ~ResetOnExit() {
        statement.tryReset();
        statement.clearBindings();
    }
};

// "<path>.broken-<UTC time>", with a number added when that name is taken.
fs::path broken_path_for(const fs::path &path) {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    fs::path base = path;
    base += std::string(".broken-") + stamp;
    fs::path candidate = base;
    for (int n = 2; fs::exists(fs::symlink_status(candidate)); ++n) {
        candidate = base;
        candidate += "-" + std::to_string(n);
    }
    return candidate;
}

// Renames a journal that cannot be used together with its -wal and -shm: the WAL may hold
// its latest rows (whoever inspects the broken copy needs it), and a stale WAL must never
// sit beside the new database.
void move_aside(const fs::path &path) {
    const fs::path broken = broken_path_for(path);
    for (const char *suffix : {"", "-wal", "-shm"}) {
        fs::path from = path, to = broken;
        from += suffix;
        to += suffix;
        std::error_code ec;
        if (!fs::exists(fs::symlink_status(from, ec))) continue;
        fs::rename(from, to, ec);
        if (ec)
            throw JournalError(JournalError::Reason::io,
                               "cannot move the broken journal " + from.string() + " aside to " + to.string() + ": " +
                                   ec.message());
    }
    spdlog::warn("journal {} could not be used; moved it aside to {} and started a new one", path.string(),
                 broken.string());
}

// Deletes a journal of ours with its -wal and -shm (--force; the run lock is held).
void remove_journal_files(const fs::path &path) {
    for (const char *suffix : {"", "-wal", "-shm"}) {
        fs::path file = path;
        file += suffix;
        std::error_code ec;
        fs::remove(file, ec);
        if (ec)
            throw JournalError(JournalError::Reason::io,
                               "cannot remove the old journal " + file.string() + " (--force): " + ec.message());
    }
}

std::unique_ptr<SQLite::Database> open_database(const fs::path &path) {
    try {
        // NOMUTEX: Impl's own mutex already serialises every use of the connection.
        auto db = std::make_unique<SQLite::Database>(path.c_str(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE |
                                                                       SQLite::OPEN_NOMUTEX);
        // Only other programs (an sqlite3 shell) can make SQLite busy: runs exclude each other by the lock.
        db->setBusyTimeout(5000);
        journal_schema::prepare(*db, path);
        // Closing leaves the WAL as it is rather than copy it into the database and fsync
        // both (milliseconds per run, for nothing the journal promises): the WAL is part of
        // the journal, read by every later opener, and checkpointed once it passes the
        // autocheckpoint size (journal_schema::prepare).
        sqlite3_db_config(db->getHandle(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
        return db;
    } catch (const SQLite::Exception &e) {
        throw journal_schema::error_from(e, path, "open");
    }
}

} // namespace

struct Journal::Impl {
    // Declared in this order so that they are destroyed statements first, lock last.
    fs::path path;
    JournalLock lock;
    std::unique_ptr<SQLite::Database> db;
    SQLite::Statement end_run;
    std::string run_id;
    int64_t run_seq = 0;

    std::mutex mutex;
    journal_codec::BatchWriter batch; // the entries not yet committed
    size_t max_rows = 4096;
    Clock::duration max_age = std::chrono::milliseconds(250);
    Clock::time_point last_commit = Clock::now();

    Impl(fs::path p, JournalLock l, std::unique_ptr<SQLite::Database> d, std::string run)
        : path(std::move(p)), lock(std::move(l)), db(std::move(d)), end_run(*db, journal_schema::kEndRun),
          run_id(std::move(run)) {}

    // After an entry was added: commits the batch if it is due.
    void maybe_commit() {
        if (batch.entries() >= max_rows || Clock::now() - last_commit >= max_age) flush();
    }

    // Commits the pending entries as one batch: one INSERT, its own transaction, so a batch
    // is wholly there or not at all. On failure the batch is lost (those jobs run again).
    void flush() {
        last_commit = Clock::now();
        if (batch.entries() == 0) return;
        try {
            journal_schema::insert_batch(*db, batch.data(), batch.entries());
            batch.clear();
        } catch (const SQLite::Exception &e) {
            batch.clear();
            throw journal_schema::error_from(e, path, "write to");
        }
    }
};

Journal::Journal(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Journal::Journal(Journal &&) noexcept = default;
Journal &Journal::operator=(Journal &&other) noexcept {
    if (this != &other) {
        Journal old(std::move(*this)); // flushed and closed on the way out
        impl_ = std::move(other.impl_);
    }
    return *this;
}

Journal::~Journal() {
    if (!impl_) return;
    try {
        std::lock_guard<std::mutex> guard(impl_->mutex);
        impl_->flush();
    } catch (const std::exception &e) {
        try {
            spdlog::error("{}", e.what());
        } catch (...) {
        }
    }
}

namespace {

// Rows left "running" by runs that died count one more died_running, each dead run once.
// Inside open()'s transaction.
void count_dead_runs(SQLite::Database &db, const fs::path &path) {
    std::unordered_set<std::string> dead;
    {
        SQLite::Statement q(db, journal_schema::kUncountedDeadRuns);
        while (q.executeStep()) dead.insert(q.getColumn(0).getString());
    }
    if (dead.empty()) return;
    journal_codec::Rows died;
    for (auto &[key, row] : journal_schema::read_rows(db, path).rows) {
        if (row.status != "running" || dead.count(row.run_id) == 0) continue;
        ++row.died_running;
        died.emplace(key, std::move(row));
    }
    journal_schema::write_rows(db, died);
    db.exec(journal_schema::kMarkDeadRunsCounted);
}

} // namespace

Journal Journal::open(const fs::path &path, const std::string &run_id, bool fresh, std::string_view command) {
    std::error_code ec;
    if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
    if (ec)
        throw JournalError(JournalError::Reason::io, "cannot create the folder of journal " + path.string() + ": " +
                                                         ec.message());
    JournalLock lock = JournalLock::acquire(path);
    std::unique_ptr<SQLite::Database> db;
    try {
        db = open_database(path);
        if (fresh) {
            // A journal of ours, to be started afresh: a new file is cheaper than deleting
            // every batch (and no reader can see a half-emptied journal).
            db.reset();
            remove_journal_files(path);
            db = open_database(path);
        }
    } catch (const JournalError &e) {
        if (!fresh || e.reason() == JournalError::Reason::io) throw;
        move_aside(path);
        db = open_database(path);
    }
    try {
        SQLite::Transaction txn(*db, SQLite::TransactionBehavior::IMMEDIATE);
        count_dead_runs(*db, path);
        SQLite::Statement begin(*db, journal_schema::kInsertRun);
        begin.bind(1, run_id);
        begin.bind(2, static_cast<int64_t>(::getpid()));
        const std::string command_bytes(command); // a BLOB, and '' rather than NULL when empty
        bind_blob(begin, 3, command_bytes);
        begin.bind(4, unix_now_ns());
        begin.exec();
        const int64_t seq = db->getLastInsertRowid();
        txn.commit();
        auto impl = std::make_unique<Impl>(path, std::move(lock), std::move(db), run_id);
        impl->run_seq = seq;
        return Journal(std::move(impl));
    } catch (const SQLite::Exception &e) {
        throw journal_schema::error_from(e, path, "open");
    }
}

const fs::path &Journal::path() const { return impl_->path; }

std::unordered_map<std::string, JournalRow> Journal::load() {
    std::lock_guard<std::mutex> guard(impl_->mutex);
    impl_->flush();
    try {
        journal_schema::StoredRows stored = journal_schema::read_rows(*impl_->db, impl_->path);
        // Entries that later ones superseded only cost reading time: when they outnumber the
        // live rows, the journal is rewritten with one entry per key (in one transaction).
        if (stored.entries > 2 * stored.rows.size() + journal_schema::kRowsPerRewrittenBatch) {
            SQLite::Transaction txn(*impl_->db, SQLite::TransactionBehavior::IMMEDIATE);
            impl_->db->exec("DELETE FROM batches");
            journal_schema::write_rows(*impl_->db, stored.rows);
            txn.commit();
        }
        return std::move(stored.rows);
    } catch (const SQLite::Exception &e) {
        throw journal_schema::error_from(e, impl_->path, "read");
    }
}

std::unordered_map<std::string, JournalRow> read_journal_rows(const fs::path &path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return {};
    try {
        // Read-only and without the run lock: WAL lets a reader see the last commit while a
        // run writes. Any schema version is read; none is changed.
        SQLite::Database db(path.c_str(), SQLite::OPEN_READONLY);
        db.setBusyTimeout(5000);
        return journal_schema::read_rows(db, path).rows;
    } catch (const SQLite::Exception &e) {
        throw journal_schema::error_from(e, path, "read");
    }
}

void Journal::record(const JournalRow &row) {
    std::lock_guard<std::mutex> guard(impl_->mutex);
    impl_->batch.add_row(row);
    impl_->maybe_commit();
}

void Journal::mark_running(const std::string &key, int64_t started_unix_ns) {
    std::lock_guard<std::mutex> guard(impl_->mutex);
    impl_->batch.add_running(key, impl_->run_id, started_unix_ns);
    impl_->maybe_commit();
}

void Journal::flush() {
    std::lock_guard<std::mutex> guard(impl_->mutex);
    impl_->flush();
}

void Journal::end_run(int exit_code) {
    std::lock_guard<std::mutex> guard(impl_->mutex);
    impl_->flush();
    SQLite::Statement &s = impl_->end_run;
    const ResetOnExit reset{s};
    try {
        s.bind(1, unix_now_ns());
        s.bind(2, exit_code);
        s.bind(3, impl_->run_seq);
        s.exec();
    } catch (const SQLite::Exception &e) {
        throw journal_schema::error_from(e, impl_->path, "write the end of the run to");
    }
}

std::vector<JournalRun> Journal::runs() {
    std::lock_guard<std::mutex> guard(impl_->mutex);
    std::vector<JournalRun> runs;
    try {
        SQLite::Statement q(*impl_->db, journal_schema::kSelectRuns);
        while (q.executeStep()) {
            JournalRun run;
            run.run_id = q.getColumn(0).getString();
            run.pid = q.getColumn(1).getInt64();
            run.command = q.getColumn(2).getString();
            run.started_unix_ns = q.getColumn(3).getInt64();
            if (!q.isColumnNull(4)) run.ended_unix_ns = q.getColumn(4).getInt64();
            if (!q.isColumnNull(5)) run.exit_code = q.getColumn(5).getInt();
            runs.push_back(std::move(run));
        }
    } catch (const SQLite::Exception &e) {
        throw journal_schema::error_from(e, impl_->path, "read");
    }
    return runs;
}

void Journal::set_batch_limits(size_t max_rows, std::chrono::milliseconds max_age) {
    std::lock_guard<std::mutex> guard(impl_->mutex);
    impl_->max_rows = max_rows == 0 ? 1 : max_rows;
    impl_->max_age = max_age;
}

} // namespace batchproc
