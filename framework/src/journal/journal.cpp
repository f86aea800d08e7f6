#include "journal/journal.hpp"

#include "journal/journal_lock.hpp"
#include "journal/journal_schema.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <spdlog/spdlog.h>

#include <sqlite3.h>
#include <unistd.h>

#include <ctime>
#include <mutex>
#include <system_error>

namespace fs = std::filesystem;

namespace batchproc {

int64_t unix_now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

namespace {

using Clock = std::chrono::steady_clock;

// Arbitrary bytes, stored byte for byte.
void bind_blob(SQLite::Statement &s, int index, const std::string &bytes) {
    s.bindNoCopy(index, static_cast<const void *>(bytes.data()), static_cast<int>(bytes.size()));
}

void bind_identity(SQLite::Statement &s, int first, const FileIdentity &id) {
    s.bind(first, id.exists ? 1 : 0);
    s.bind(first + 1, static_cast<int64_t>(id.size));
    s.bind(first + 2, id.mtime_ns);
    s.bind(first + 3, static_cast<int64_t>(id.dev));
    s.bind(first + 4, static_cast<int64_t>(id.ino));
    s.bindNoCopy(first + 5, id.content_hash);
}

FileIdentity read_identity(const SQLite::Statement &s, int first) {
    FileIdentity id;
    id.exists = s.getColumn(first).getInt() != 0;
    id.size = static_cast<uint64_t>(s.getColumn(first + 1).getInt64());
    id.mtime_ns = s.getColumn(first + 2).getInt64();
    id.dev = static_cast<uint64_t>(s.getColumn(first + 3).getInt64());
    id.ino = static_cast<uint64_t>(s.getColumn(first + 4).getInt64());
    id.content_hash = s.getColumn(first + 5).getString();
    return id;
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

std::unique_ptr<SQLite::Database> open_database(const fs::path &path) {
    try {
        // NOMUTEX: Impl's own mutex already serialises every use of the connection.
        auto db = std::make_unique<SQLite::Database>(path.c_str(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE |
                                                                       SQLite::OPEN_NOMUTEX);
        // Only other programs (an sqlite3 shell) can make SQLite busy: runs exclude each other by the lock.
        db->setBusyTimeout(5000);
        journal_schema::prepare(*db, path);
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
    SQLite::Statement upsert_job, mark_running, end_run;
    std::string run_id;
    int64_t run_seq = 0;

    std::mutex mutex;
    size_t max_rows = 1000;
    Clock::duration max_age = std::chrono::milliseconds(250);
    size_t pending = 0;
    bool in_transaction = false;
    Clock::time_point last_commit = Clock::now();

    Impl(fs::path p, JournalLock l, std::unique_ptr<SQLite::Database> d, std::string run)
        : path(std::move(p)), lock(std::move(l)), db(std::move(d)), upsert_job(*db, journal_schema::kUpsertJob),
          mark_running(*db, journal_schema::kMarkRunning), end_run(*db, journal_schema::kEndRun),
          run_id(std::move(run)) {}

    // Runs one buffered write inside the open batch, then commits if the batch is due.
    template <class Write> void buffered(const char *doing, Write &&write) {
        try {
            if (!in_transaction) {
                db->exec("BEGIN IMMEDIATE");
                in_transaction = true;
            }
            write();
            ++pending;
            if (pending >= max_rows || Clock::now() - last_commit >= max_age) commit();
        } catch (const SQLite::Exception &e) {
            resync();
            throw journal_schema::error_from(e, path, doing);
        }
    }

    void commit() {
        if (in_transaction) {
            db->exec("COMMIT");
            in_transaction = false;
        }
        pending = 0;
        last_commit = Clock::now();
    }

    // After an error SQLite may have rolled the batch back on its own (disk full, I/O error).
    void resync() {
        in_transaction = sqlite3_get_autocommit(db->getHandle()) == 0;
        if (!in_transaction) pending = 0;
    }

    void flush() {
        try {
            commit();
        } catch (const SQLite::Exception &e) {
            resync();
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
    } catch (const JournalError &e) {
        if (!fresh || e.reason() == JournalError::Reason::io) throw;
        move_aside(path);
        db = open_database(path);
    }
    try {
        SQLite::Transaction txn(*db, SQLite::TransactionBehavior::IMMEDIATE);
        if (fresh) db->exec("DELETE FROM jobs; DELETE FROM runs;");
        if (db->execAndGet(journal_schema::kUncountedDeadRuns).getInt64() > 0)
            db->exec(journal_schema::kCountDeadRuns);
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

namespace {

// Every row of `db`'s jobs table, by key.
std::unordered_map<std::string, JournalRow> read_rows(SQLite::Database &db, const fs::path &path) {
    std::unordered_map<std::string, JournalRow> rows;
    try {
        rows.reserve(static_cast<size_t>(db.execAndGet("SELECT count(*) FROM jobs").getInt64()));
        SQLite::Statement q(db, journal_schema::kSelectJobs);
        while (q.executeStep()) {
            JournalRow row;
            row.key = q.getColumn(0).getString();
            row.input = read_identity(q, 1);
            row.recipe = q.getColumn(7).getString();
            row.output_path = q.getColumn(8).getString();
            row.output = read_identity(q, 9);
            row.status = q.getColumn(15).getString();
            row.error = q.getColumn(16).getString();
            row.attempts = q.getColumn(17).getInt();
            row.died_running = q.getColumn(18).getInt();
            row.metrics_json = q.getColumn(19).getString();
            row.ms = q.getColumn(20).getDouble();
            row.worker_pid = q.getColumn(21).getInt64();
            row.run_id = q.getColumn(22).getString();
            row.started_unix_ns = q.getColumn(23).getInt64();
            row.ended_unix_ns = q.getColumn(24).getInt64();
            std::string key = row.key;
            rows.insert_or_assign(std::move(key), std::move(row));
        }
    } catch (const SQLite::Exception &e) {
        throw journal_schema::error_from(e, path, "read");
    }
    return rows;
}

} // namespace

std::unordered_map<std::string, JournalRow> Journal::load() {
    std::lock_guard<std::mutex> guard(impl_->mutex);
    return read_rows(*impl_->db, impl_->path);
}

std::unordered_map<std::string, JournalRow> read_journal_rows(const fs::path &path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return {};
    try {
        // Read-only and without the run lock: WAL lets a reader see the last commit while a
        // run writes. Its schema is checked, never changed.
        SQLite::Database db(path.c_str(), SQLite::OPEN_READONLY);
        db.setBusyTimeout(5000);
        if (!db.tableExists("jobs"))
            throw JournalError(JournalError::Reason::not_a_journal,
                               "journal " + path.string() + " is not a batchproc journal (it has no jobs table); " +
                                   journal_schema::force_advice(path));
        return read_rows(db, path);
    } catch (const SQLite::Exception &e) {
        throw journal_schema::error_from(e, path, "read");
    }
}

void Journal::record(const JournalRow &row) {
    std::lock_guard<std::mutex> guard(impl_->mutex);
    SQLite::Statement &s = impl_->upsert_job;
    impl_->buffered("write to", [&] {
        const ResetOnExit reset{s};
        bind_blob(s, 1, row.key);
        bind_identity(s, 2, row.input);
        s.bindNoCopy(8, row.recipe);
        bind_blob(s, 9, row.output_path);
        bind_identity(s, 10, row.output);
        s.bindNoCopy(16, row.status);
        bind_blob(s, 17, row.error);
        s.bind(18, row.attempts);
        s.bind(19, row.died_running);
        s.bindNoCopy(20, row.metrics_json);
        s.bind(21, row.ms);
        s.bind(22, row.worker_pid);
        s.bindNoCopy(23, row.run_id);
        s.bind(24, row.started_unix_ns);
        s.bind(25, row.ended_unix_ns);
        s.exec();
    });
}

void Journal::mark_running(const std::string &key, int64_t started_unix_ns) {
    std::lock_guard<std::mutex> guard(impl_->mutex);
    SQLite::Statement &s = impl_->mark_running;
    impl_->buffered("write to", [&] {
        const ResetOnExit reset{s};
        bind_blob(s, 1, key);
        s.bindNoCopy(2, impl_->run_id);
        s.bind(3, started_unix_ns);
        s.exec();
    });
}

void Journal::flush() {
    std::lock_guard<std::mutex> guard(impl_->mutex);
    impl_->flush();
}

void Journal::end_run(int exit_code) {
    std::lock_guard<std::mutex> guard(impl_->mutex);
    SQLite::Statement &s = impl_->end_run;
    impl_->buffered("write the end of the run to", [&] {
        const ResetOnExit reset{s};
        s.bind(1, unix_now_ns());
        s.bind(2, exit_code);
        s.bind(3, impl_->run_seq);
        s.exec();
    });
    impl_->flush();
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
