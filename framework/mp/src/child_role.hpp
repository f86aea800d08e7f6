// The child side of every start method, and what the parent needs to start spawn and
// forkserver children. Private to the library.
#pragma once

#include "batchproc/mp/detail/unique_fd.hpp"
#include "batchproc/mp/process.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace batchproc::mp::detail {

// The environment variable that makes a run of the program a child:
// "<role>:<fd>:<when>", role "task" (spawn) or "forkserver", fd the descriptor its request
// (or the forkserver's control socket) comes on, when "init" (in the library's static
// initializer) or "main" (in run_if_child).
inline constexpr const char *kChildEnv = "BATCHPROC_MP_CHILD";
// Added to a spawned child's command line, so that `ps` tells what it is.
inline constexpr const char *kChildArg = "--batchproc-mp-child";

// What a spawn or forkserver child runs.
struct ChildRequest {
    std::string task;
    std::string arguments;
    std::string name;
    std::string identity;
    bool daemon = false;
    std::int32_t parent_pid = 0;
    std::string parent_name;
    bool parent_daemon = false;
    // spawn: the inherited descriptors (their numbers), in the arguments' export order.
    // forkserver: unused, the child gets them with the request's socket.
    std::vector<int> fds;

    template <class Archive>
    void serialize(Archive &ar) {
        ar(task, arguments, name, identity, daemon, parent_pid, parent_name, parent_daemon, fds);
    }
};

// This process's place in the tree.
std::string next_child_identity(); // "1", then "2"; "1:1" in Process-1
void become_child(const std::string &name, const std::string &identity, bool daemon, int parent_pid,
                  const std::string &parent_name, bool parent_daemon);

// Runs `body`, turning an escaping exception into exit code 1 (with its type and message
// on stderr) and SystemExit into its code.
int run_guarded(const std::string &process_name, const std::function<void()> &body) noexcept;
// Flushes stdio and std::cout / std::cerr, then _exit(code): a child never runs its
// parent's atexit handlers or static destructors.
[[noreturn]] void exit_child(int code) noexcept;

// The static initializer's work (process.cpp): becomes the child role the environment
// names, now or when run_if_child is reached.
void bootstrap_child();
// run_if_child's work.
void run_child_role_from_main();
// Called by the registry after each registration: runs a spawn child's task that was not
// registered yet when the library was initialized.
void task_registered(const std::string &name);
// A spawned child whose task never ran must not go on to run the program: called where a
// program would start processes, it ends such a child with an explanation.
void check_not_a_stray_child();

// "init" or "main": where children of this program become their role.
const char *child_role_timing();
// fork + exec of /proc/self/exe with kChildEnv=`role` and only `keep_fds` inherited (plus
// stdin, stdout, stderr). Returns the child's pid once exec succeeded; ProcessError if not.
int exec_self(const std::string &role, const std::vector<int> &keep_fds, bool daemon);

// Reads a ChildRequest from `fd` and runs it (spawn child: `received` null, the request
// names the inherited descriptors; forkserver child: the descriptors that came with it).
[[noreturn]] void run_request(int fd, std::vector<int> *received, int daemon_parent);

// The forkserver, client side: starts the server on first use, sends it a request.
struct ForkServerChild {
    int pid = 0;
    UniqueFd status; // the server writes the child's wait status here when it ends
};
ForkServerChild forkserver_start(std::string &framed_request, const std::vector<int> &fds);
// In a fork child: the parent's server connection is not ours.
void forget_forkserver_after_fork();
// The server's loop.
[[noreturn]] void serve_forkserver(int control_fd);

} // namespace batchproc::mp::detail
