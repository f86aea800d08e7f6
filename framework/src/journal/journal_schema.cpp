#include "journal/journal_schema.hpp"

#include "journal/journal_codec.hpp"

#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include <sqlite3.h>

#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace batchproc::journal_schema {

namespace {

constexpr const char *kFormatName = "batchproc-journal";

// Version 3: the job rows live in batches (journal_codec); runs stay one SQL row each.
constexpr const char *kCreateV3 = R"sql(
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE batches (seq INTEGER PRIMARY KEY, entries INTEGER NOT NULL, checksum INTEGER NOT NULL,
                      data BLOB NOT NULL);
CREATE TABLE runs (
  seq INTEGER PRIMARY KEY, run_id TEXT NOT NULL, pid INTEGER NOT NULL, command BLOB NOT NULL,
  started_unix_ns INTEGER NOT NULL, ended_unix_ns INTEGER, exit_code INTEGER,
  death_counted INTEGER NOT NULL DEFAULT 0);
)sql";
static_assert(Journal::kSchemaVersion == 4, "teach prepare() and read_rows() the new version");
// Version 4 has the tables of version 3; its batches may hold rows of several outputs.

// Versions 1 and 2 kept one SQL row per job (version 2 added died_running).
const char *legacy_select(int version) {
    return version == 1 ? "SELECT key, in_exists, in_size, in_mtime_ns, in_dev, in_ino, in_hash, recipe, out_path, "
                          "out_exists, out_size, out_mtime_ns, out_dev, out_ino, out_hash, status, error, attempts, "
                          "0, metrics_json, ms, worker_pid, run_id, started_unix_ns, ended_unix_ns FROM jobs"
                        : "SELECT key, in_exists, in_size, in_mtime_ns, in_dev, in_ino, in_hash, recipe, out_path, "
                          "out_exists, out_size, out_mtime_ns, out_dev, out_ino, out_hash, status, error, attempts, "
                          "died_running, metrics_json, ms, worker_pid, run_id, started_unix_ns, ended_unix_ns FROM jobs";
}

FileIdentity legacy_identity(const SQLite::Statement &s, int first) {
    FileIdentity id;
    id.exists = s.getColumn(first).getInt() != 0;
    id.size = static_cast<uint64_t>(s.getColumn(first + 1).getInt64());
    id.mtime_ns = s.getColumn(first + 2).getInt64();
    id.dev = static_cast<uint64_t>(s.getColumn(first + 3).getInt64());
    id.ino = static_cast<uint64_t>(s.getColumn(first + 4).getInt64());
    id.content_hash = s.getColumn(first + 5).getString();
    return id;
}

StoredRows read_legacy_rows(SQLite::Database &db, int version) {
    StoredRows stored;
    SQLite::Statement q(db, legacy_select(version));
    while (q.executeStep()) {
        JournalRow row;
        row.key = q.getColumn(0).getString();
        row.input = legacy_identity(q, 1);
        row.recipe = q.getColumn(7).getString();
        row.output_path = q.getColumn(8).getString();
        row.output = legacy_identity(q, 9);
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
        stored.rows.insert_or_assign(std::move(key), std::move(row));
        ++stored.entries;
    }
    return stored;
}

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
    const char *job_table = version >= 3 ? "batches" : "jobs";
    if (version < 1 || !contains(tables, job_table) || !contains(tables, "runs"))
        not_a_journal(path, "is damaged (schema version " + text + ", tables " + job_table + " and runs expected)");
    return version;
}

} // namespace

const char *const kInsertBatch = "INSERT INTO batches(entries, checksum, data) VALUES (?1, ?2, ?3)";
const char *const kInsertRun = "INSERT INTO runs(run_id, pid, command, started_unix_ns) VALUES (?1, ?2, ?3, ?4)";
const char *const kEndRun = "UPDATE runs SET ended_unix_ns = ?1, exit_code = ?2 WHERE seq = ?3";
const char *const kSelectRuns =
    "SELECT run_id, pid, command, started_unix_ns, ended_unix_ns, exit_code FROM runs ORDER BY seq";
const char *const kUncountedDeadRuns = "SELECT run_id FROM runs WHERE ended_unix_ns IS NULL AND death_counted = 0";
const char *const kMarkDeadRunsCounted =
    "UPDATE runs SET death_counted = 1 WHERE ended_unix_ns IS NULL AND death_counted = 0";

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
    // A new journal gets 64 KiB pages (SQLite's largest; settable only before the first
    // table and before WAL mode): a batch is one large BLOB, written as a chain of overflow
    // pages, and each WAL frame is a write() of its own.
    // Turning a new, empty file into a WAL database writes its first page through a rollback
    // journal with four fsyncs; they protect nothing yet (a new journal torn by a power loss
    // is at worst refused with the --force advice), so that step runs with synchronous = OFF.
    if (version == 0) db.exec("PRAGMA page_size = 65536; PRAGMA synchronous = OFF");
    const std::string mode = db.execAndGet("PRAGMA journal_mode = WAL").getString();
    if (mode != "wal")
        throw JournalError(JournalError::Reason::io,
                           "cannot use journal " + path.string() + ": SQLite refused WAL mode (got " + mode + ")");
    db.exec("PRAGMA synchronous = NORMAL");
    db.exec("PRAGMA temp_store = MEMORY"); // statement journals in memory, not in files under /var/tmp
    // Checkpoint the WAL into the database every 64 MiB or so (the default is 1000 pages,
    // 64 MiB with 64 KiB pages but only 4 MiB in a migrated journal of 4 KiB pages); the
    // last close checkpoints what is left.
    const int64_t page_size = db.execAndGet("PRAGMA page_size").getInt64();
    db.exec("PRAGMA wal_autocheckpoint = " + std::to_string((64 << 20) / (page_size > 0 ? page_size : 4096)));
    if (version == Journal::kSchemaVersion) return;
    SQLite::Transaction txn(db, SQLite::TransactionBehavior::IMMEDIATE);
    if (version == 0) {
        db.exec(kCreateV3);
        db.exec("INSERT INTO meta(name, value) VALUES ('format', '" + std::string(kFormatName) +
                "'), ('schema_version', '" + std::to_string(Journal::kSchemaVersion) + "')");
    } else if (version == 3) {
        // Version 3's batches are version 4's; only the number changes.
        db.exec("UPDATE meta SET value = '" + std::to_string(Journal::kSchemaVersion) +
                "' WHERE name = 'schema_version'");
    } else {
        // 1 or 2: the rows move from the jobs table into batches.
        const StoredRows old = read_legacy_rows(db, version);
        db.exec("CREATE TABLE batches (seq INTEGER PRIMARY KEY, entries INTEGER NOT NULL, "
                "checksum INTEGER NOT NULL, data BLOB NOT NULL)");
        write_rows(db, old.rows);
        db.exec("DROP TABLE jobs");
        db.exec("UPDATE meta SET value = '" + std::to_string(Journal::kSchemaVersion) +
                "' WHERE name = 'schema_version'");
    }
    txn.commit();
}

StoredRows read_rows(SQLite::Database &db, const fs::path &path) {
    const int version = existing_version(db, path);
    if (version == 0) return {};
    if (version < 3) return read_legacy_rows(db, version);
    StoredRows stored;
    stored.rows.reserve(static_cast<size_t>(db.execAndGet("SELECT total(entries) FROM batches").getInt64()));
    SQLite::Statement q(db, "SELECT seq, entries, checksum, data FROM batches ORDER BY seq");
    while (q.executeStep()) {
        const int64_t entries = q.getColumn(1).getInt64();
        const SQLite::Column data = q.getColumn(3);
        const std::string_view bytes(static_cast<const char *>(data.getBlob()), static_cast<size_t>(data.getBytes()));
        const std::string where = "batch " + std::to_string(q.getColumn(0).getInt64());
        if (entries < 0 || journal_codec::checksum(bytes) != q.getColumn(2).getInt64())
            not_a_journal(path, "is damaged (" + where + " does not match its checksum)");
        try {
            journal_codec::apply_batch(bytes, static_cast<size_t>(entries), stored.rows);
        } catch (const std::runtime_error &e) {
            not_a_journal(path, "is damaged (" + where + ": " + e.what() + ")");
        }
        stored.entries += static_cast<size_t>(entries);
    }
    return stored;
}

void insert_batch(SQLite::Database &db, std::string_view data, size_t entries) {
    SQLite::Statement insert(db, kInsertBatch);
    insert.bind(1, static_cast<int64_t>(entries));
    insert.bind(2, journal_codec::checksum(data));
    insert.bindNoCopy(3, static_cast<const void *>(data.data()), static_cast<int>(data.size()));
    insert.exec();
}

void write_rows(SQLite::Database &db, const journal_codec::Rows &rows) {
    journal_codec::BatchWriter writer;
    for (const auto &[key, row] : rows) {
        writer.add_row(row);
        if (writer.entries() == kRowsPerRewrittenBatch) {
            insert_batch(db, writer.data(), writer.entries());
            writer.clear();
        }
    }
    if (writer.entries() > 0) insert_batch(db, writer.data(), writer.entries());
}

} // namespace batchproc::journal_schema
