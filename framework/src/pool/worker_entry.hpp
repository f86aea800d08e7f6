// The worker role of the batchproc executable, for the spawn start method: a fresh process
// image that reloads the config and plugins, maps the shared result buffer it was given
// and runs the worker loop.
#pragma once

namespace batchproc {

// argv[1] of a spawned worker.
inline constexpr const char *kWorkerRoleArg = "__worker";
// Environment variable carrying {"config": path, "overrides": [...]} to a spawned worker.
inline constexpr const char *kWorkerInitEnv = "BATCHPROC_WORKER_INIT";

int worker_main(int argc, char **argv);

} // namespace batchproc
