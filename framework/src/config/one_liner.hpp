// `batchproc do`: a job given on the command line instead of in a config file. It is
// translated into the YAML tree the equivalent config file would hold, and that text goes to
// the config loader like any file: the same checks, messages, pool, journal and report, and
// `--print-config` shows exactly the text that runs.
#pragma once

#include "config/spec.hpp"

#include <sys/types.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace batchproc {

// What `batchproc do` was given, as typed. Empty strings are options not given.
struct OneLiner {
    std::vector<std::string> inputs; // files and folders
    std::string files_from;          // --files-from FILE | -
    bool null_separated = false;     // -0
    std::vector<std::string> include, exclude;
    bool recursive = true;
    std::string output_dir;          // -o
    std::string name;                // --name TEMPLATE
    std::string metadata;            // --metadata strip | keep_icc | keep
    std::vector<std::string> stages; // one -p each: "resize max_side=1600"
    std::vector<std::string> plugins; // loaded besides imgproc
    std::string mode, workers, start_method;
    std::string report;
    std::string journal;             // PATH | false
    bool resume = true;              // --no-resume: false
    bool verify_content = false;     // --verify-content: resume: {verify: content}
    // Whether a stage's parameter is a file path (BP_PARAM_PATH): its value, relative to the
    // current folder on a command line, is made absolute. Unset: no parameter is a path.
    std::function<bool(const std::string &stage, const std::string &param)> is_path;
};

// One -p argument: the stage's name and its parameters, each value a YAML scalar.
struct StageWords {
    std::string name;
    std::vector<std::pair<std::string, YAML::Node>> params;
};

// Splits a -p argument into words at blanks outside quotes; the quotes stay in the words
// ("text='a b'" is one word). Throws ConfigError naming the -p on an unclosed quote.
std::vector<std::string> split_stage_words(const std::string &text);

// Reads "resize max_side=1600 text='© 2026 Me'": a stage name, then name=value words. A
// quoted value is a YAML quoted scalar ('it''s', "tab\there"); an unquoted one is taken as
// written (80, area, {stem}); an empty one is the empty string. Throws ConfigError naming
// the -p and the word that is not of this form.
StageWords parse_stage_words(const std::string &text);

// The config tree: keys in the usual order (plugins, input, output, pool, report, journal,
// resume, pipeline), paths made absolute against `cwd` so that the text runs from anywhere.
// Throws ConfigError (a usage error) for a malformed -p.
YAML::Node one_liner_config(const OneLiner &line, const std::filesystem::path &cwd);

// The tree as the text of a config file, with a comment saying where it came from.
std::string config_text(const YAML::Node &config);

// A ConfigError raised by the translated config, told in the one-liner's terms: its place is
// the option the key came from (-p 'resize max_sid=3', -o/--output, --workers...).
ConfigError one_liner_error(const ConfigError &e, const OneLiner &line);

// The config text in a file of its own under $TMPDIR (or /tmp) for the life of the run: the
// engine, and workers started with the spawn method, load a config from a file. Removed on
// destruction by the process that made it.
class OneLinerConfigFile {
public:
    explicit OneLinerConfigFile(const std::string &text);
    ~OneLinerConfigFile();
    OneLinerConfigFile(const OneLinerConfigFile &) = delete;
    OneLinerConfigFile &operator=(const OneLinerConfigFile &) = delete;
    const std::filesystem::path &path() const { return path_; }

private:
    std::filesystem::path path_;
    pid_t owner_ = -1;
};

} // namespace batchproc
