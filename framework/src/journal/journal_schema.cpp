#include "journal/journal_schema.hpp"

#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include <sqlite3.h>

#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace batchproc::journal_schema {

namespace {

constexpr const char *kFormatName = "batchproc-journal";

// Keys and paths are arbitrary bytes (BLOB); identities are 64-bit integers (uint64 values
// stored bit for bit); every column has a default so that mark_running can insert a key
// it has never seen.
constexpr const char *kCreateV2 = R"sql(
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
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
  attempts INTEGER NOT NULL DEFAULT 0, died_running INTEGER NOT NULL DEFAULT 0,
  metrics_json TEXT NOT NULL DEFAULT '{}', ms REAL NOT NULL DEFAULT 0,
  worker_pid INTEGER NOT NULL DEFAULT 0, run_id TEXT NOT NULL DEFAULT '',
  started_unix_ns INTEGER NOT NULL DEFAULT 0, ended_unix_ns INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE TABLE runs (
  seq INTEGER PRIMARY KEY, run_id TEXT NOT NULL, pid INTEGER NOT NULL, command BLOB NOT NULL,
  started_unix_ns INTEGER NOT NULL, ended_unix_ns INTEGER, exit_code INTEGER,
  death_counted INTEGER NOT NULL DEFAULT 0);
)sql";

// migrations[v] takes a version-v journal to version v + 1.
const std::vector<const char *> kMigrations = {
    nullptr,
    "ALTER TABLE jobs ADD COLUMN died_running INTEGER NOT NULL DEFAULT 0;",
};
static_assert(Journal::kSchemaVersion == 2, "add the migration to the new version to kMigrations");

#define BP_JOB_COLUMNS                                                                                   \
    "key, in_exists, in_size, in_mtime_ns, in_dev, in_ino, in_hash, recipe, out_path, out_exists, "      \
    "out_size, out_mtime_ns, out_dev, out_ino, out_hash, status, error, attempts, died_running, "        \
    "metrics_json, ms, worker_pid, run_id, started_unix_ns, ended_unix_ns"

[[noreturn]] void not_a_journal(const fs::path &path, const std::string &what) {
    throw JournalError(JournalError::Reason::not_a_journal,
                       "journal " + path.string() + " " + what + "; " + force_advice(path));
}

std::vector<std::string> table_names(SQLite::Database &db) {
    std::vector<std::string> names;
    SQLite::Statement q(db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
    while (q.executeStep()) names.push_back(q.getColumn(0).getString());
    return names;
}

bool contains(const std::vector<std::string> &names, const std::string &name) {
    for (const std::string &n : names)
        if (n == name) return true;
    return false;
}

std::string meta_value(SQLite::Database &db, const char *name) {
    SQLite::Statement q(db, "SELECT value FROM meta WHERE name = ?1");
    q.bind(1, name);
    return q.executeStep() ? q.getColumn(0).getString() : std::string();
}

// The schema version of the journal in `db`; 0 for an empty database. Reads only.
int existing_version(SQLite::Database &db, const fs::path &path) {
    const std::vector<std::string> tables = table_names(db);
    if (tables.empty()) return 0;
    std::string format;
    if (contains(tables, "meta")) {
        try {
            format = meta_value(db, "format");
        } catch (const SQLite::Exception &e) {
            if ((e.getErrorCode() & 0xff) != SQLITE_ERROR) throw; // a meta table of another shape
        }
    }
    if (format != kFormatName) {
        std::string list;
        for (const std::string &t : tables) list += (list.empty() ? "" : ", ") + t;
        not_a_journal(path, "is an SQLite database but not a batchproc journal (it holds the tables " + list +
                                " and no batchproc format mark)");
    }
    const std::string text = meta_value(db, "schema_version");
    int version = 0;
    try {
        version = std::stoi(text);
    } catch (const std::exception &) {
        not_a_journal(path, "is damaged (its schema version \"" + text + "\" is not a number)");
    }
    if (version > Journal::kSchemaVersion)
        throw JournalError(JournalError::Reason::newer_version,
                           "journal " + path.string() + " was written by a newer batchproc (journal schema version " +
                               text + "; this batchproc reads versions up to " +
                               std::to_string(Journal::kSchemaVersion) + "); use that batchproc, or " +
                               force_advice(path));
    if (version < 1 || !contains(tables, "jobs") || !contains(tables, "runs"))
        not_a_journal(path, "is damaged (schema version " + text + ", tables jobs and runs expected)");
    return version;
}

} // namespace

const char *const kUpsertJob = "INSERT OR REPLACE INTO jobs(" BP_JOB_COLUMNS ") VALUES "
                               "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
                               "?19, ?20, ?21, ?22, ?23, ?24, ?25)";
const char *const kMarkRunning =
    "INSERT INTO jobs(key, status, run_id, started_unix_ns) VALUES (?1, 'running', ?2, ?3) "
    "ON CONFLICT(key) DO UPDATE SET status = 'running', run_id = excluded.run_id, "
    "started_unix_ns = excluded.started_unix_ns";
const char *const kSelectJobs = "SELECT " BP_JOB_COLUMNS " FROM jobs";
const char *const kInsertRun = "INSERT INTO runs(run_id, pid, command, started_unix_ns) VALUES (?1, ?2, ?3, ?4)";
const char *const kEndRun = "UPDATE runs SET ended_unix_ns = ?1, exit_code = ?2 WHERE seq = ?3";
const char *const kSelectRuns =
    "SELECT run_id, pid, command, started_unix_ns, ended_unix_ns, exit_code FROM runs ORDER BY seq";
const char *const kUncountedDeadRuns =
    "SELECT count(*) FROM runs WHERE ended_unix_ns IS NULL AND death_counted = 0";
const char *const kCountDeadRuns =
    "UPDATE jobs SET died_running = died_running + 1 WHERE status = 'running' AND run_id IN "
    "(SELECT run_id FROM runs WHERE ended_unix_ns IS NULL AND death_counted = 0);"
    "UPDATE runs SET death_counted = 1 WHERE ended_unix_ns IS NULL AND death_counted = 0;";

std::string force_advice(const fs::path &path) {
    return "run with --force to start a new journal (the old one is moved aside to " + path.string() +
           ".broken-<timestamp>)";
}

JournalError error_from(const SQLite::Exception &e, const fs::path &path, std::string_view doing) {
    const int code = e.getErrorCode() & 0xff;
    if (code == SQLITE_NOTADB)
        return JournalError(JournalError::Reason::not_a_journal, "journal " + path.string() +
                                                                     " is not an SQLite database (" + e.what() +
                                                                     "); " + force_advice(path));
    if (code == SQLITE_CORRUPT)
        return JournalError(JournalError::Reason::not_a_journal,
                            "journal " + path.string() + " is damaged (" + e.what() + "); " + force_advice(path));
    return JournalError(JournalError::Reason::io,
                        "cannot " + std::string(doing) + " journal " + path.string() + ": " + e.what());
}

void prepare(SQLite::Database &db, const fs::path &path) {
    // Until the file is known to be ours, closing must not checkpoint someone else's WAL
    // into their database (and delete it).
    sqlite3_db_config(db.getHandle(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    const int version = existing_version(db, path);
    sqlite3_db_config(db.getHandle(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 0, nullptr);
    // Only now that the file is known to be ours (or empty) may anything write to it: the
    // journal mode lives in the file header.
    // synchronous = NORMAL: in WAL mode a commit is a write() of the WAL frames, so it
    // survives a SIGKILL of the process at any moment; after a power loss or OS crash the
    // database is still consistent but may lack the last commits, which only means those
    // jobs run again (outputs are renamed into place atomically, so rerunning is harmless).
    // FULL would add an fsync to every commit for no gain in what the journal promises.
    const std::string mode = db.execAndGet("PRAGMA journal_mode = WAL").getString();
    if (mode != "wal")
        throw JournalError(JournalError::Reason::io,
                           "cannot use journal " + path.string() + ": SQLite refused WAL mode (got " + mode + ")");
    db.exec("PRAGMA synchronous = NORMAL");
    // A run touches every page of the jobs table: keep them in memory (64 MiB at most) rather
    // than read them back, and checkpoint the WAL into the database rarely (every 64 MiB)
    // instead of every 4 MiB; the last close checkpoints what is left.
    db.exec("PRAGMA cache_size = -65536");
    db.exec("PRAGMA wal_autocheckpoint = 16384");
    if (version == Journal::kSchemaVersion) return;
    SQLite::Transaction txn(db, SQLite::TransactionBehavior::IMMEDIATE);
    if (version == 0) {
        db.exec(kCreateV2);
        db.exec("INSERT INTO meta(name, value) VALUES ('format', '" + std::string(kFormatName) +
                "'), ('schema_version', '" + std::to_string(Journal::kSchemaVersion) + "')");
    } else {
        for (int v = version; v < Journal::kSchemaVersion; ++v) db.exec(kMigrations[static_cast<size_t>(v)]);
        db.exec("UPDATE meta SET value = '" + std::to_string(Journal::kSchemaVersion) +
                "' WHERE name = 'schema_version'");
    }
    txn.commit();
}

} // namespace batchproc::journal_schema
