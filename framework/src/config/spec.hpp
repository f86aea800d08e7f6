// The validated form of a config file: what the engine runs.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace batchproc {

// Where a value came from: a config file position (1-based), or a --set override.
struct SourceMark {
    std::string file; // config path as given, or "--set"
    int line = 0;     // 0 when unknown
    int column = 0;

    std::string to_string() const; // "file:line:column" (or "file" when no position)
};

// A config error: names the place, the key and what is wrong. Nothing runs after one.
class ConfigError : public std::runtime_error {
public:
    ConfigError(SourceMark mark, std::string key, const std::string &message);
    const SourceMark &mark() const { return mark_; }
    const std::string &key() const { return key_; }
    const std::string &message() const { return message_; }

private:
    SourceMark mark_;
    std::string key_;
    std::string message_;
};

enum class PoolMode { serial, threads, processes };
enum class StartMethod { fork, spawn, forkserver };
enum class DamagedPolicy { error, warn }; // what a damaged (e.g. truncated) image does to its job
// input.colour: srgb converts pixels from an embedded ICC profile to sRGB at decode; keep
// leaves them as they are and the output carries the same profile; ignore takes them as
// they are and drops the profile (as if untagged).
enum class ColourPolicy { srgb, keep, ignore };
// output.metadata: what of the input's metadata an output carries. strip: nothing; keep_icc:
// the ICC profile (when the pixels are still in it, i.e. input.colour: keep); keep: EXIF,
// XMP and IPTC as well. Default: keep_icc under input.colour: keep, else strip.
enum class MetadataPolicy { strip, keep_icc, keep };

const char *to_string(PoolMode);
const char *to_string(StartMethod);

struct PluginRef {
    std::string name_or_path; // bundled name ("imgproc") or a path to a .so (made absolute)
    SourceMark mark;
};

// One stage's parameters as written, before schema validation (plugin_host does that).
struct RawParam {
    std::string name;
    YAML::Node value;
    SourceMark mark;
    // The folder a relative path value (a PATH parameter) is taken from: the config file's,
    // or the working folder for a value given with --set. Empty: the working folder.
    std::filesystem::path base_dir = {};
};

struct StageSpec {
    std::string name;
    std::vector<RawParam> params;
    SourceMark mark; // of the stage's name
};

struct DecodeOptions {
    bool exif_orientation = true;              // input.exif_orientation
    uint64_t max_pixels = 268'435'456;         // input.max_pixels (256 Mi pixels)
    uint64_t max_decoded = uint64_t(1) << 30;  // input.max_decoded: bytes of the decoded image (1 GiB)
    DamagedPolicy damaged = DamagedPolicy::error; // input.damaged: error | warn
    bool shrink_on_load = true;                // input.shrink_on_load
    ColourPolicy colour = ColourPolicy::srgb;  // input.colour
};

// The most jobs input.generate.count may ask for: each planned job holds its paths and a
// report entry in memory, so 10^12 would ask for terabytes before the first job ran.
inline constexpr int64_t kMaxGeneratedJobs = 10'000'000;

struct InputSpec {
    std::vector<std::filesystem::path> paths; // absolute (resolved against the config's folder)
    std::vector<std::string> include;         // empty = every format the decoder reads
    std::vector<std::string> exclude;
    bool recursive = true;
    std::optional<int64_t> generate_count;    // input.generate.count: jobs that read no file, <= kMaxGeneratedJobs
    // input.list / --files-from: a file naming the inputs one per line, "-" for standard
    // input; its relative entries are taken from list_base (the list file's folder, or the
    // current folder for --files-from). Empty when the inputs come from paths or generate.
    std::filesystem::path list;
    std::filesystem::path list_base;
    bool list_nul = false; // input.list_nul / -0: entries end with NUL bytes, as find -print0 writes
    DecodeOptions decode;
    SourceMark mark; // of the input section
};

struct OutputSpec {
    std::filesystem::path dir; // absolute; empty when the config has no output section
    std::string name = "{rel_dir}/{stem}.{ext}";
    bool overwrite = true;
    bool durable = true;       // fsync each output (and its folder) around the rename; also the report
    MetadataPolicy metadata = MetadataPolicy::strip; // resolved: the default depends on input.colour
    bool strip_gps = false;    // output.strip_gps: with metadata keep, drop the GPS position
    SourceMark name_mark;
    SourceMark mark;
};

// The most workers a run may have (pool.workers): the coordinator's tables of live workers
// (the emergency stop's included) hold this many.
constexpr int kMaxWorkers = 1024;

struct PoolSpec {
    PoolMode mode = PoolMode::processes;
    int workers = 0; // 0 = auto: the cores available to this process; -N: all of them but N
    int workers_percent = 0; // workers: 50%: that share of the cores (with workers 0)
    int nice = 0;            // pool.nice: the run's (and its workers') niceness, 0..19
    StartMethod start_method = StartMethod::forkserver;
    int threads_per_worker = 1;
    double timeout_s = 60;         // per job; 0 = none
    int retries = 1;               // extra attempts after a crash or timeout
    uint64_t max_memory = 0;       // bytes per worker; 0 = no cap
    int max_jobs_per_worker = 0;   // 0 = no recycling
    bool oversubscribe = false;    // allow workers * threads_per_worker > cores
};

// journal: PATH | false. The run journal (framework/src/journal) records every job's outcome.
struct JournalSpec {
    bool enabled = true;
    std::filesystem::path path; // absolute; empty = the default place (journal_path_for)
    SourceMark mark;
};

// resume: true | false | {verify: size_mtime | content}.
struct ResumeSpec {
    bool enabled = true;         // skip jobs the journal shows done and unchanged
    bool verify_content = false; // compare the input's bytes (XXH3) instead of its size, mtime and inode
};

// --shard I/N: this run does the jobs of shard I of N (engine/shards.hpp). Not a config key:
// the same config serves every shard.
struct ShardSpec {
    int index = 0; // 0-based
    int count = 1; // 1: not sharded
    bool sharded() const { return count > 1; }
};

// A shard's own file beside `path`: "x/report.json" -> "x/report.shard-0003-of-0016.json"
// (the suffix before the extension); `path` itself when not sharded.
std::filesystem::path shard_file(const std::filesystem::path &path, const ShardSpec &shard);

struct RunSpec {
    std::filesystem::path config_path; // absolute
    std::filesystem::path base_dir;    // folder of the config file
    std::vector<PluginRef> plugins;
    std::vector<std::filesystem::path> plugin_path; // extra folders to search (absolute)
    InputSpec input;
    OutputSpec output;
    PoolSpec pool;
    std::optional<std::filesystem::path> report; // absolute
    JournalSpec journal;
    ResumeSpec resume;
    std::vector<StageSpec> pipeline;
    std::vector<std::string> overrides; // the --set overrides it was loaded with (spawned workers reload with them)
    ShardSpec shard;                    // --shard: this run's part of the plan
    // Paths in reports are shown relative to this folder when inside it (the CLI sets the
    // working directory); empty: the config's folder.
    std::filesystem::path display_base;
};

} // namespace batchproc
