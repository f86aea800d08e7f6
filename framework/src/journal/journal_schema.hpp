// What a batchproc journal file looks like: its tables, how an existing file is recognised
// (or rejected) and how an older schema is brought up to date.
//
// Schema history:
//   1  meta(name, value), jobs (one row per job key), runs (one row per run)
//   2  jobs.died_running added (runs that died while the job was running)
//   3  jobs replaced by batches(seq, entries, checksum, data): each commit appends one SQL
//      row packing many job entries (journal_codec), which costs a job far less than an
//      upsert into an indexed table; versions 1 and 2 are migrated (and read as they are by
//      read-only readers such as `batchproc status`)
#pragma once

#include "journal/journal.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>

#include <cstddef>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <string_view>

namespace batchproc::journal_schema {

extern const char *const kInsertRun;      // ?1 run_id, ?2 pid, ?3 command, ?4 started_unix_ns
extern const char *const kEndRun;         // ?1 ended_unix_ns, ?2 exit_code, ?3 seq
extern const char *const kSelectRuns;
// Runs that died (no end) whose death is not yet counted against their running jobs, and
// the statement that marks them counted.
extern const char *const kUncountedDeadRuns; // one column: run_id
extern const char *const kMarkDeadRunsCounted;

// A journal's job rows, and how many entries its batches hold in all (the rows plus the
// entries later ones superseded: what a rewrite would save).
struct StoredRows {
    std::unordered_map<std::string, JournalRow> rows;
    size_t entries = 0;
};

// Makes `db` (just opened on `path`) a journal of the current schema version, ready for
// use: an empty database gets the schema, an older one is migrated, and anything that is
// not a batchproc journal throws JournalError(not_a_journal / newer_version) before a
// byte of the file was changed. Sets WAL mode and the synchronous level.
void prepare(SQLite::Database &db, const std::filesystem::path &path);

// The JournalError for an SQLite error met while `doing` something with the journal:
// "not a database" and "damaged" suggest --force, everything else is an I/O error.
JournalError error_from(const SQLite::Exception &e, const std::filesystem::path &path, std::string_view doing);

// The job rows of the journal in `db` (of any schema version; nothing is changed): the
// batches replayed in order. A batch that fails its checksum or does not decode is a
// JournalError(not_a_journal).
StoredRows read_rows(SQLite::Database &db, const std::filesystem::path &path);

// Appends one batch (packed by journal_codec::BatchWriter) holding `entries` entries.
void insert_batch(SQLite::Database &db, std::string_view data, size_t entries);
// Appends `rows` as batches of kRowsPerRewrittenBatch rows (migration and compaction).
constexpr size_t kRowsPerRewrittenBatch = 4096;
void write_rows(SQLite::Database &db, const std::unordered_map<std::string, JournalRow> &rows);

// The advice that ends every not_a_journal / newer_version message.
std::string force_advice(const std::filesystem::path &path);

} // namespace batchproc::journal_schema
