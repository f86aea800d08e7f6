// Helpers for the batchproc::mp tests: child processes made with fork() or by exec'ing the
// test program again (the way the spawn start method makes them), objects passed to the
// latter through cereal, and the check that a test leaves no shared-memory name behind.
#pragma once

#include <gtest/gtest.h>

#include <cereal/archives/binary.hpp>

#include <dirent.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <sstream>
#include <string>
#include <vector>

extern char **environ;

namespace mp_test {

// Runs fn() in a forked child, which exits with fn's result (99 if it threw).
template <class Fn>
pid_t fork_child(Fn fn) {
    const pid_t pid = fork();
    if (pid == 0) {
        int code = 99;
        try {
            code = fn();
        } catch (const std::exception &e) {
            std::fprintf(stderr, "child %d threw: %s\n", static_cast<int>(getpid()), e.what());
        } catch (...) {
        }
        std::fflush(nullptr);
        _exit(code);
    }
    return pid;
}

// The child's exit code, or minus the signal that killed it (as Python's exitcode).
inline int wait_exit(pid_t pid) {
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) return -1000;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return -WTERMSIG(status);
    return -1001;
}

inline double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

inline std::string to_hex(const std::string &bytes) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : bytes) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

inline std::string from_hex(const std::string &hex) {
    std::string out;
    for (size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
    return out;
}

// Serialises objects with cereal's binary archive, as a start method would.
template <class... T>
std::string serialize(const T &...objects) {
    std::stringstream stream;
    {
        cereal::BinaryOutputArchive archive(stream);
        archive(objects...);
    }
    return stream.str();
}

template <class... T>
void deserialize(const std::string &bytes, T &...objects) {
    std::stringstream stream(bytes);
    cereal::BinaryInputArchive archive(stream);
    archive(objects...);
}

constexpr const char *kRoleVariable = "BPMP_TEST_CHILD_ROLE";
constexpr const char *kDataVariable = "BPMP_TEST_CHILD_DATA";

// Starts this test program again, fresh (posix_spawn of /proc/self/exe), as the child
// `role` with `data`: the child runs the test file's run_child_role before main and exits.
inline pid_t spawn_self(const std::string &role, const std::string &data) {
    std::vector<std::string> env_strings;
    for (char **e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
    env_strings.push_back(std::string(kRoleVariable) + "=" + role);
    env_strings.push_back(std::string(kDataVariable) + "=" + to_hex(data));
    std::vector<char *> envp;
    for (auto &s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::string arg0 = "mp_test_child";
    char *argv[] = {arg0.data(), nullptr};
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv, envp.data());
    return rc == 0 ? pid : -1;
}

// In a child started by spawn_self: runs `run(role, data)` and exits with its result
// (98 if it threw). Call it from a namespace-scope initialiser at the end of a test file.
inline bool dispatch_child(int (*run)(const std::string &role, const std::string &data)) {
    const char *role = std::getenv(kRoleVariable);
    if (role == nullptr) return false;
    int code = 98;
    try {
        code = run(role, from_hex(std::getenv(kDataVariable) ? std::getenv(kDataVariable) : ""));
    } catch (const std::exception &e) {
        std::fprintf(stderr, "exec'd child (%s) threw: %s\n", role, e.what());
    }
    std::fflush(nullptr);
    std::exit(code); // a normal exit: the child's handles let go as in a real program
}

// The shared-memory names this process created that still exist.
inline std::vector<std::string> own_shm_names() {
    std::vector<std::string> names;
    const std::string prefix = "bpmp-" + std::to_string(getpid()) + "-";
    if (DIR *dir = opendir("/dev/shm")) {
        while (dirent *entry = readdir(dir)) {
            if (std::string(entry->d_name).rfind(prefix, 0) == 0) names.emplace_back(entry->d_name);
        }
        closedir(dir);
    }
    return names;
}

// Every test checks that once its objects are gone, no name it created is left behind.
class MpTest : public ::testing::Test {
protected:
    void TearDown() override {
        const auto left = own_shm_names();
        EXPECT_TRUE(left.empty()) << left.size() << " shared-memory name(s) left in /dev/shm, e.g. " << left.front();
    }
};

} // namespace mp_test
