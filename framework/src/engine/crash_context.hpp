// Serial and threads mode run every job in this process: a stage that crashes (SIGSEGV,
// SIGBUS, SIGFPE, SIGILL, SIGABRT) ends the whole run. Before it does, one line on stderr
// names the signal, the stage and the file, and says how to contain such crashes (processes
// mode). The job runner notes, per thread, the job and stage it is in; the handler reads
// that note with async-signal-safe calls only, then lets the signal end the process as it
// would have (the exit status stays the signal's: 139 for SIGSEGV in a shell).
#pragma once

#include <string_view>

namespace batchproc {

// What this thread is doing now (the job runner calls these in every mode; cheap copies
// into fixed thread-local buffers, cut to fit).
void note_job(std::string_view display);
void note_stage(std::string_view stage); // "" between stages (decode, writing)

// Installs the crash handlers for the rest of the process (serial and threads mode), and an
// alternate signal stack for the calling thread, so that a stack overflow is reported too.
void install_crash_reporter();

// In a worker process forked from a process that installed them (`batchproc bench` runs
// every mode in one process): the default actions again, so that a worker's crash is the
// pool's to report.
void remove_crash_reporter_in_child();

} // namespace batchproc
