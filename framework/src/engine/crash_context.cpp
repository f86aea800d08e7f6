#include "engine/crash_context.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

namespace batchproc {

namespace {

struct Note {
    char job[1024];
    char stage[128];
    void *altstack; // this thread's alternate signal stack, once made (kept: the kernel uses it)
};

thread_local Note t_note{};
bool g_installed = false; // set before any job runs, read-only after

void copy_into(char *dst, size_t capacity, std::string_view text) {
    const size_t n = text.size() < capacity - 1 ? text.size() : capacity - 1;
    std::memcpy(dst, text.data(), n);
    dst[n] = '\0';
}

// An alternate stack for this thread (once): a handler needs stack to run on when the crash
// was a stack overflow. Mapped, not allocated: it is the kernel's for the thread's life (the
// threads of a run end with the process), not a heap block nobody frees.
void ensure_altstack() {
    if (t_note.altstack != nullptr) return;
    const size_t size = 64 * 1024;
    void *stack = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (stack == MAP_FAILED) return;
    stack_t ss{};
    ss.ss_sp = stack;
    ss.ss_size = size;
    if (sigaltstack(&ss, nullptr) == 0) t_note.altstack = stack;
    else ::munmap(stack, size);
}

const char *signal_name(int sig) {
    switch (sig) {
    case SIGSEGV: return "SIGSEGV (invalid memory access)";
    case SIGBUS: return "SIGBUS (bus error)";
    case SIGFPE: return "SIGFPE (arithmetic error)";
    case SIGILL: return "SIGILL (illegal instruction)";
    case SIGABRT: return "SIGABRT (abort)";
    default: return "a fatal signal";
    }
}

void put(const char *s) {
    size_t n = std::strlen(s);
    while (n > 0) {
        const ssize_t w = ::write(STDERR_FILENO, s, n);
        if (w <= 0) return;
        s += w;
        n -= static_cast<size_t>(w);
    }
}

void on_crash(int sig) {
    put("batchproc: the run crashed with ");
    put(signal_name(sig));
    if (t_note.stage[0] != '\0') {
        put(" in stage ");
        put(t_note.stage);
    }
    if (t_note.job[0] != '\0') {
        put(" on ");
        put(t_note.job);
    }
    put(". Serial and threads mode run every job in this process, so one crash ends the run (the journal, when on, "
        "keeps the jobs finished before it); pool.mode: processes contains a crash to its file, which is then reported as "
        "crashed while the run goes on.\n");
    // Let the signal do what it would have done: the default action, re-raised on return.
    signal(sig, SIG_DFL);
    raise(sig);
}

constexpr int kCrashSignals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};

} // namespace

void note_job(std::string_view display) {
    copy_into(t_note.job, sizeof t_note.job, display);
    t_note.stage[0] = '\0';
    if (g_installed) ensure_altstack(); // else a sanitizer's own alternate stack stays
}

void note_stage(std::string_view stage) { copy_into(t_note.stage, sizeof t_note.stage, stage); }

void install_crash_reporter() {
    g_installed = true;
    ensure_altstack();
    struct sigaction sa {};
    sa.sa_handler = &on_crash;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_ONSTACK | SA_RESETHAND;
    for (int sig : kCrashSignals) sigaction(sig, &sa, nullptr);
}

void remove_crash_reporter_in_child() {
    if (!g_installed) return;
    g_installed = false;
    for (int sig : kCrashSignals) signal(sig, SIG_DFL);
}

} // namespace batchproc
