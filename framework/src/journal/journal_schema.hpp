// What a batchproc journal file looks like: its tables, how an existing file is recognised
// (or rejected) and how an older schema is brought up to date.
//
// Schema history:
//   1  meta(name, value), jobs (one row per job key), runs (one row per run)
//   2  jobs.died_running added (runs that died while the job was running)
#pragma once

#include "journal/journal.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>

#include <filesystem>
#include <string_view>

namespace batchproc::journal_schema {

// The 25 columns of jobs, in the order the statements below bind and read them.
extern const char *const kUpsertJob;      // INSERT OR REPLACE of a whole row
extern const char *const kMarkRunning;    // ?1 key, ?2 run_id, ?3 started_unix_ns
extern const char *const kSelectJobs;
extern const char *const kInsertRun;      // ?1 run_id, ?2 pid, ?3 command, ?4 started_unix_ns
extern const char *const kEndRun;         // ?1 ended_unix_ns, ?2 exit_code, ?3 seq
extern const char *const kSelectRuns;
// Rows left "running" by runs that died count one more died_running; each dead run once.
// kCountDeadRuns scans jobs, so it runs only when kUncountedDeadRuns finds a dead run.
extern const char *const kUncountedDeadRuns;
extern const char *const kCountDeadRuns;

// Makes `db` (just opened on `path`) a journal of the current schema version, ready for
// use: an empty database gets the schema, an older one is migrated, and anything that is
// not a batchproc journal throws JournalError(not_a_journal / newer_version) before a
// byte of the file was changed. Sets WAL mode and the synchronous level.
void prepare(SQLite::Database &db, const std::filesystem::path &path);

// The JournalError for an SQLite error met while `doing` something with the journal:
// "not a database" and "damaged" suggest --force, everything else is an I/O error.
JournalError error_from(const SQLite::Exception &e, const std::filesystem::path &path, std::string_view doing);

// The advice that ends every not_a_journal / newer_version message.
std::string force_advice(const std::filesystem::path &path);

} // namespace batchproc::journal_schema
