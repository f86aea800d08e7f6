// The recipe stamp: one hash of everything that decides what a job's output is, as ninja
// hashes the command that built a target. A rerun whose stamp differs redoes every job.
#pragma once

#include "config/spec.hpp"
#include "plugin_host/pipeline.hpp"

#include <string>

namespace batchproc {

// The canonical text the stamp is the hash of, one line per fact:
// - the engine's version (it decodes the inputs);
// - the input options that change pixels or outcomes (EXIF orientation, shrink-on-load,
//   damaged-file policy, pixel limit);
// - output.name (the output path itself is compared separately), output.metadata and
//   output.strip_gps;
// - every stage in order, with its plugin's id and version and every parameter the stage
//   sees, defaults included, in schema order: leaving a default out of the config and
//   writing it in give one recipe.
// Not in it: anything about how the run is executed (mode, workers, timeouts, report).
std::string recipe_text(const RunSpec &spec, const PipelinePlan &plan);

// XXH3-128 of recipe_text(), 32 hex digits.
std::string recipe_stamp(const RunSpec &spec, const PipelinePlan &plan);

} // namespace batchproc
