// The plan: one job per input file (or per generated slot), each with its output path.
#pragma once

#include "config/spec.hpp"
#include "inputs/input_scan.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace batchproc {

struct PlannedJob {
    int64_t index = 0;             // 0-based position in the plan
    std::filesystem::path input;   // empty for generated jobs
    std::string display;           // input relative to spec.display_base (else the config's folder) when inside it, else absolute; "#<index>" for generated jobs
    // Absolute final output paths, one per output stage of the pipeline in its order; empty
    // when the pipeline writes none.
    std::vector<std::filesystem::path> outputs;
    // What the journal knows the job by: the input's path relative to the input path it was
    // found under ('/'-separated; its file name when named directly), prefixed "<i>:" with
    // the index in input.paths when there are several; "#<index>" for generated jobs.
    std::string key;
};

// One output stage of the pipeline, as the plan needs it.
struct OutputSlot {
    size_t stage = 0;                  // its index in the pipeline
    std::optional<std::string> ext;    // the format it writes (nullopt: the input's own extension)
    std::string name;                  // its own name template; "" = output.name
    SourceMark name_mark;              // where that name was given, and its key in messages
    std::string name_key;              // "pipeline[2].save.name"
    std::string stage_key;             // "pipeline[2].save", naming the stage in messages
};

// The values the output.name placeholders take for one job.
struct OutputNameFields {
    std::string stem;    // {stem}: file name without its extension ("job<index>" for generated jobs)
    std::string name;    // {name}: file name with its extension ("job<index>.<ext>" for generated jobs)
    std::string ext;     // {ext}: extension of the written format, lower case, no dot
    std::string src_ext; // {src_ext}: the input's own extension, lower case, no dot ("" for generated jobs)
    std::string rel_dir; // {rel_dir}: '/'-separated folder relative to the input root, "" at the root
    int64_t index = 0;   // {index}, {index:0N} (zero-padded to N digits)
};

// Expands output.name for one job. "{{" and "}}" are literal braces. An empty placeholder
// takes one adjacent '/' with it, so "{rel_dir}/{stem}.{ext}" gives "a.jpg" at the root and
// "x/{rel_dir}/y" gives "x/y"; a '.' just before an empty {ext} is dropped too ("README", not
// "README."). Throws ConfigError (key "output.name", no position) for an unknown placeholder
// (with a "did you mean" hint), an unclosed '{', a lone '}' or a bad {index:...} format.
// Checks nothing about the result; plan_jobs does.
std::string expand_output_name(const std::string &tmpl, const OutputNameFields &fields);

// Builds the plan: each job gets one output path per slot (the pipeline's output stages,
// in order), named by the slot's own template or else output.name, with {ext} the slot's
// format (nullopt = the input's own extension, lower-cased; "out" for generated jobs). When
// spec.input.generate_count is set the plan has that many jobs and `files` is ignored.
// Throws ConfigError, before anything runs, when:
// - a name template is malformed (see expand_output_name); output.name is checked even
//   when nothing is written;
// - the pipeline writes output but the config has no output.dir (key "output.dir");
// - a name is empty, absolute, escapes output.dir after normalisation ("../x"), or names a
//   folder ("x/..", "x/");
// - two outputs, of two jobs or of one, map to the same path (exact byte comparison, so
//   "A.jpg" and "a.jpg" are distinct);
// - an output is the input of a job (its own or another's): running it would read a file
//   while it is being replaced, or destroy the original.
// Errors about a name carry the mark and key of the template that gave it.
std::vector<PlannedJob> plan_jobs(const RunSpec &spec, const std::vector<InputFile> &files,
                                  const std::vector<OutputSlot> &slots);
// The same for a pipeline with at most one output stage, named by output.name.
std::vector<PlannedJob> plan_jobs(const RunSpec &spec, const std::vector<InputFile> &files, bool writes_output,
                                  const std::optional<std::string> &output_ext);

// A path as reports show it: relative to `base` when inside it, else absolute.
std::string display_path(const std::filesystem::path &path, const std::filesystem::path &base);
// The folder report paths are relative to: spec.display_base, else the config's folder.
std::filesystem::path display_base(const RunSpec &spec);

} // namespace batchproc
