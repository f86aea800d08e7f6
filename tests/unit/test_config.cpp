// The config loader: every key into the right field, paths resolved against the config's
// folder, every error with its place and key, and --set overrides.
#include "config/config_loader.hpp"
#include "engine/run.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <fstream>

namespace fs = std::filesystem;
using batchproc::ConfigError;
using batchproc::load_config;
using batchproc::load_config_text;
using batchproc::RunSpec;
using batchproc::ThreadBudget;
using batchproc::plan_thread_budget;

namespace {

const fs::path kFile = "/proj/configs/test.yaml";

// The smallest valid config; tests append to it or replace parts.
const std::string kMinimal = "input: {paths: [images]}\n"
                             "pipeline:\n"
                             "  - resize: {max_side: 64}\n";

RunSpec load(const std::string &yaml, const std::vector<std::string> &overrides = {}) {
    return load_config_text(yaml, kFile, overrides);
}

// The ConfigError a config raises; a test failure when it raises none.
ConfigError error_of(const std::string &yaml, const std::vector<std::string> &overrides = {}) {
    try {
        load(yaml, overrides);
    } catch (const ConfigError &e) {
        return e;
    }
    ADD_FAILURE() << "no ConfigError for:\n" << yaml;
    return ConfigError({}, "", "");
}

bool contains(const std::string &text, const std::string &part) { return text.find(part) != std::string::npos; }

#define EXPECT_CONTAINS(text, part) EXPECT_TRUE(contains(text, part)) << "\"" << (text) << "\" lacks \"" << (part) << "\""

#define EXPECT_ERROR_AT(e, line_, column_, key_)                                                                 \
    do {                                                                                                         \
        EXPECT_EQ((e).mark().file, kFile.string()) << (e).what();                                                \
        EXPECT_EQ((e).mark().line, line_) << (e).what();                                                         \
        EXPECT_EQ((e).mark().column, column_) << (e).what();                                                     \
        EXPECT_EQ((e).key(), key_) << (e).what();                                                                \
    } while (0)

// A fresh folder under the system temp folder, removed at the end; restores the working folder.
class ConfigFile : public ::testing::Test {
protected:
    void SetUp() override {
        saved_cwd_ = fs::current_path();
        root_ = fs::canonical(fs::temp_directory_path()) /
                ("bp_test_config_" + std::to_string(::getpid()) + "_" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(root_);
        fs::create_directories(root_);
    }
    void TearDown() override {
        fs::current_path(saved_cwd_);
        fs::remove_all(root_);
    }
    void write(const fs::path &file, const std::string &text) {
        fs::create_directories(file.parent_path());
        std::ofstream(file) << text;
    }
    fs::path root_;
    fs::path saved_cwd_;
};

} // namespace

// ---- valid configs ------------------------------------------------------------------------

TEST(Config, FullConfigFillsEveryField) {
    const std::string yaml = "plugins: [imgproc, ../plugins/libmine.so, /opt/x/libabs.so, local.so]\n" // 1
                             "plugin_path: [../lib, /usr/lib/bp]\n"                                     // 2
                             "input:\n"                                                                // 3
                             "  paths: [../samples/images, photo.jpg]\n"                               // 4
                             "  include: [\"*.jpg\", \"*.png\"]\n"                                     // 5
                             "  exclude: [\"*_small.*\"]\n"                                            // 6
                             "  recursive: false\n"                                                    // 7
                             "  exif_orientation: false\n"                                             // 8
                             "  max_pixels: 100Mpx\n"                                                  // 9
                             "  damaged: warn\n"                                                       // 10
                             "  shrink_on_load: false\n"                                               // 11
                             "output:\n"                                                               // 12
                             "  dir: ../out/thumbs/\n"                                                 // 13
                             "  name: \"{rel_dir}/{stem}_small.{ext}\"\n"                              // 14
                             "  overwrite: false\n"                                                    // 15
                             "pool:\n"                                                                 // 16
                             "  mode: processes\n"                                                     // 17
                             "  workers: 3\n"                                                          // 18
                             "  start_method: spawn\n"                                                 // 19
                             "  threads_per_worker: 2\n"                                               // 20
                             "  timeout: 1m30s\n"                                                      // 21
                             "  retries: 4\n"                                                          // 22
                             "  max_memory: 512MiB\n"                                                  // 23
                             "  max_jobs_per_worker: 100\n"                                            // 24
                             "  oversubscribe: true\n"                                                 // 25
                             "report: ../out/report.json\n"                                            // 26
                             "pipeline:\n"                                                             // 27
                             "  - resize: {max_side: 256, interpolation: area}\n"                      // 28
                             "  - grayscale:\n"                                                        // 29
                             "  - save:\n"                                                             // 30
                             "      format: jpg\n"                                                     // 31
                             "      quality: 85\n";                                                    // 32
    const RunSpec s = load(yaml);

    EXPECT_EQ(s.config_path, fs::path("/proj/configs/test.yaml"));
    EXPECT_EQ(s.base_dir, fs::path("/proj/configs"));

    ASSERT_EQ(s.plugins.size(), 4u);
    EXPECT_EQ(s.plugins[0].name_or_path, "imgproc");
    EXPECT_EQ(s.plugins[1].name_or_path, "/proj/plugins/libmine.so");
    EXPECT_EQ(s.plugins[2].name_or_path, "/opt/x/libabs.so");
    EXPECT_EQ(s.plugins[3].name_or_path, "/proj/configs/local.so");
    EXPECT_EQ(s.plugins[1].mark.line, 1);
    EXPECT_EQ(s.plugins[1].mark.column, 20);
    ASSERT_EQ(s.plugin_path.size(), 2u);
    EXPECT_EQ(s.plugin_path[0], fs::path("/proj/lib"));
    EXPECT_EQ(s.plugin_path[1], fs::path("/usr/lib/bp"));

    ASSERT_EQ(s.input.paths.size(), 2u);
    EXPECT_EQ(s.input.paths[0], fs::path("/proj/samples/images"));
    EXPECT_EQ(s.input.paths[1], fs::path("/proj/configs/photo.jpg"));
    EXPECT_EQ(s.input.include, (std::vector<std::string>{"*.jpg", "*.png"}));
    EXPECT_EQ(s.input.exclude, (std::vector<std::string>{"*_small.*"}));
    EXPECT_FALSE(s.input.recursive);
    EXPECT_FALSE(s.input.generate_count.has_value());
    EXPECT_FALSE(s.input.decode.exif_orientation);
    EXPECT_EQ(s.input.decode.max_pixels, 100'000'000u);
    EXPECT_EQ(s.input.decode.damaged, batchproc::DamagedPolicy::warn);
    EXPECT_FALSE(s.input.decode.shrink_on_load);
    EXPECT_EQ(s.input.mark.line, 3);
    EXPECT_EQ(s.input.mark.column, 1);

    EXPECT_EQ(s.output.dir, fs::path("/proj/out/thumbs")); // trailing separator dropped
    EXPECT_EQ(s.output.name, "{rel_dir}/{stem}_small.{ext}");
    EXPECT_FALSE(s.output.overwrite);
    EXPECT_EQ(s.output.name_mark.file, kFile.string());
    EXPECT_EQ(s.output.name_mark.line, 14);
    EXPECT_EQ(s.output.name_mark.column, 9);
    EXPECT_EQ(s.output.mark.line, 12);

    EXPECT_EQ(s.pool.mode, batchproc::PoolMode::processes);
    EXPECT_EQ(s.pool.workers, 3);
    EXPECT_EQ(s.pool.start_method, batchproc::StartMethod::spawn);
    EXPECT_EQ(s.pool.threads_per_worker, 2);
    EXPECT_DOUBLE_EQ(s.pool.timeout_s, 90.0);
    EXPECT_EQ(s.pool.retries, 4);
    EXPECT_EQ(s.pool.max_memory, 512u * 1024 * 1024);
    EXPECT_EQ(s.pool.max_jobs_per_worker, 100);
    EXPECT_TRUE(s.pool.oversubscribe);

    ASSERT_TRUE(s.report.has_value());
    EXPECT_EQ(*s.report, fs::path("/proj/out/report.json"));

    ASSERT_EQ(s.pipeline.size(), 3u);
    EXPECT_EQ(s.pipeline[0].name, "resize");
    EXPECT_EQ(s.pipeline[0].mark.line, 28);
    EXPECT_EQ(s.pipeline[0].mark.column, 5);
    ASSERT_EQ(s.pipeline[0].params.size(), 2u);
    EXPECT_EQ(s.pipeline[0].params[0].name, "max_side");
    EXPECT_EQ(s.pipeline[0].params[0].value.as<int>(), 256);
    EXPECT_EQ(s.pipeline[0].params[0].mark.line, 28);
    EXPECT_EQ(s.pipeline[0].params[0].mark.column, 24);
    EXPECT_EQ(s.pipeline[0].params[1].name, "interpolation");
    EXPECT_EQ(s.pipeline[0].params[1].value.Scalar(), "area");
    EXPECT_EQ(s.pipeline[1].name, "grayscale");
    EXPECT_TRUE(s.pipeline[1].params.empty());
    EXPECT_EQ(s.pipeline[1].mark.line, 29);
    EXPECT_EQ(s.pipeline[2].name, "save");
    ASSERT_EQ(s.pipeline[2].params.size(), 2u);
    EXPECT_EQ(s.pipeline[2].params[1].name, "quality");
    EXPECT_EQ(s.pipeline[2].params[1].value.Scalar(), "85");
    EXPECT_EQ(s.pipeline[2].params[1].mark.line, 32);
    EXPECT_EQ(s.pipeline[2].params[1].mark.column, 16);
}

TEST(Config, OmittedKeysTakeTheSpecDefaults) {
    const RunSpec s = load(kMinimal);
    const batchproc::RunSpec d;
    EXPECT_TRUE(s.plugins.empty());
    EXPECT_TRUE(s.input.include.empty());
    EXPECT_TRUE(s.input.recursive);
    EXPECT_EQ(s.input.decode.max_pixels, d.input.decode.max_pixels);
    EXPECT_EQ(s.input.decode.damaged, batchproc::DamagedPolicy::error);
    EXPECT_TRUE(s.output.dir.empty());
    EXPECT_EQ(s.output.name, "{rel_dir}/{stem}.{ext}");
    EXPECT_EQ(s.pool.mode, batchproc::PoolMode::processes);
    EXPECT_EQ(s.pool.workers, 0);
    EXPECT_EQ(s.pool.start_method, batchproc::StartMethod::forkserver);
    EXPECT_DOUBLE_EQ(s.pool.timeout_s, 60.0);
    EXPECT_EQ(s.pool.retries, 1);
    EXPECT_FALSE(s.report.has_value());
    EXPECT_TRUE(s.output.durable);
    EXPECT_TRUE(s.journal.enabled);
    EXPECT_TRUE(s.journal.path.empty());
    EXPECT_TRUE(s.resume.enabled);
    EXPECT_FALSE(s.resume.verify_content);
}

TEST(Config, MetadataPolicyAndItsDefault) {
    using batchproc::MetadataPolicy;
    EXPECT_EQ(load(kMinimal).output.metadata, MetadataPolicy::strip);
    EXPECT_EQ(load("input: {paths: [a], colour: keep}\npipeline: [{a: }]\n").output.metadata, MetadataPolicy::keep_icc);
    const RunSpec s = load("input: {paths: [a], colour: keep}\noutput: {dir: o, metadata: keep, strip_gps: true}\n"
                           "pipeline: [{a: }]\n");
    EXPECT_EQ(s.output.metadata, MetadataPolicy::keep);
    EXPECT_TRUE(s.output.strip_gps);
    EXPECT_EQ(load("input: {paths: [a], colour: keep}\noutput: {dir: o, metadata: strip}\npipeline: [{a: }]\n")
                  .output.metadata,
              MetadataPolicy::strip);
    EXPECT_CONTAINS(error_of(kMinimal + "output: {dir: o, metadata: all}\n").message(), "one of strip, keep, keep_icc");
}

TEST(Config, InputColourPolicy) {
    EXPECT_EQ(load(kMinimal).input.decode.colour, batchproc::ColourPolicy::srgb);
    EXPECT_EQ(load("input: {paths: [a], colour: keep}\npipeline: [{a: }]\n").input.decode.colour,
              batchproc::ColourPolicy::keep);
    EXPECT_EQ(load("input: {paths: [a], colour: ignore}\npipeline: [{a: }]\n").input.decode.colour,
              batchproc::ColourPolicy::ignore);
    const ConfigError e = error_of("input: {paths: [a], colour: srbg}\npipeline: [{a: }]\n");
    EXPECT_CONTAINS(e.message(), "did you mean \"srgb\"");
}

TEST(Config, JournalResumeAndDurableKeys) {
    const RunSpec a = load(kMinimal + "output: {dir: o, durable: false}\njournal: false\nresume: false\n");
    EXPECT_FALSE(a.output.durable);
    EXPECT_FALSE(a.journal.enabled);
    EXPECT_FALSE(a.resume.enabled);
    const RunSpec b = load(kMinimal + "journal: runs/j.sqlite\nresume: {verify: content}\n");
    EXPECT_TRUE(b.journal.enabled);
    EXPECT_EQ(b.journal.path, kFile.parent_path() / "runs/j.sqlite");
    EXPECT_TRUE(b.resume.enabled);
    EXPECT_TRUE(b.resume.verify_content);
    const ConfigError bad = error_of(kMinimal + "resume: sometimes\n");
    EXPECT_CONTAINS(bad.message(), "must be true, false or a mapping such as {verify: content}, got \"sometimes\"");
    const ConfigError verify = error_of(kMinimal + "resume: {verify: bytes}\n");
    EXPECT_CONTAINS(verify.message(), "one of size_mtime, content");
    const ConfigError key = error_of(kMinimal + "resume: {verfy: content}\n");
    EXPECT_CONTAINS(key.message(), "did you mean \"verify\"");
    const ConfigError durable = error_of(kMinimal + "output: {dir: o, durable: maybe}\n");
    EXPECT_CONTAINS(durable.message(), "must be true or false");
}

TEST(Config, SinglePathStringGenerateAutoWorkersAndEmptySections) {
    const RunSpec s = load("input:\n  paths: one/folder/\npool:\nreport: r.json\npipeline:\n  - sumsq: {n: 10}\n");
    ASSERT_EQ(s.input.paths.size(), 1u);
    EXPECT_EQ(s.input.paths[0], fs::path("/proj/configs/one/folder"));

    const RunSpec g = load("input: {generate: {count: 0}}\npool: {workers: auto, timeout: 0}\npipeline: [{sumsq: }]\n");
    ASSERT_TRUE(g.input.generate_count.has_value());
    EXPECT_EQ(*g.input.generate_count, 0);
    EXPECT_TRUE(g.input.paths.empty());
    EXPECT_EQ(g.pool.workers, 0);
    EXPECT_DOUBLE_EQ(g.pool.timeout_s, 0.0);
    ASSERT_EQ(g.pipeline.size(), 1u);
    EXPECT_TRUE(g.pipeline[0].params.empty());
}

TEST_F(ConfigFile, RelativePathsResolveAgainstTheConfigFolderFromAnyWorkingFolder) {
    write(root_ / "proj/configs/job.yaml", "plugins: [../plugins/libx.so]\n"
                                           "input: {paths: [../images, ./one.png]}\n"
                                           "output: {dir: ../out}\n"
                                           "report: out/report.json\n"
                                           "pipeline: [{resize: {max_side: 8}}]\n");
    fs::create_directories(root_ / "elsewhere/deeper");
    fs::current_path(root_ / "elsewhere/deeper");

    const RunSpec s = load_config("../../proj/configs/job.yaml");
    EXPECT_EQ(s.config_path, root_ / "proj/configs/job.yaml");
    EXPECT_EQ(s.base_dir, root_ / "proj/configs");
    ASSERT_EQ(s.input.paths.size(), 2u);
    EXPECT_EQ(s.input.paths[0], root_ / "proj/images");
    EXPECT_EQ(s.input.paths[1], root_ / "proj/configs/one.png");
    EXPECT_EQ(s.output.dir, root_ / "proj/out");
    EXPECT_EQ(*s.report, root_ / "proj/configs/out/report.json");
    EXPECT_EQ(s.plugins[0].name_or_path, (root_ / "proj/plugins/libx.so").string());

    // The same from the config's own folder: identical absolute results.
    fs::current_path(root_ / "proj/configs");
    const RunSpec t = load_config("job.yaml");
    EXPECT_EQ(t.input.paths, s.input.paths);
    EXPECT_EQ(t.output.dir, s.output.dir);

    // A relative path typed with --set means the folder it was typed in.
    fs::current_path(root_ / "elsewhere");
    const RunSpec u = load_config(root_ / "proj/configs/job.yaml", {"output.dir=results", "input.paths=[a, /abs/b]"});
    EXPECT_EQ(u.output.dir, root_ / "elsewhere/results");
    EXPECT_EQ(u.input.paths, (std::vector<fs::path>{root_ / "elsewhere/a", "/abs/b"}));
    EXPECT_EQ(*u.report, root_ / "proj/configs/out/report.json"); // untouched by --set
}

TEST(Config, TildeMeansTheHomeFolder) {
    const char *saved = std::getenv("HOME");
    const std::string old = saved != nullptr ? saved : "";
    ::setenv("HOME", "/home/tester", 1);
    const RunSpec s = load("input: {paths: [~/pics, \"~\"]}\npipeline: [{a: }]\n");
    if (saved != nullptr) ::setenv("HOME", old.c_str(), 1);
    else ::unsetenv("HOME");
    EXPECT_EQ(s.input.paths, (std::vector<fs::path>{"/home/tester/pics", "/home/tester"}));
}

TEST_F(ConfigFile, UnreadableFileIsAConfigErrorNamingIt) {
    const fs::path missing = root_ / "nope.yaml";
    try {
        load_config(missing);
        FAIL() << "no error";
    } catch (const ConfigError &e) {
        EXPECT_EQ(e.mark().file, missing.string());
        EXPECT_CONTAINS(e.message(), "cannot read");
        EXPECT_CONTAINS(e.what(), "nope.yaml");
    }
    try {
        load_config(root_);
        FAIL() << "no error";
    } catch (const ConfigError &e) {
        EXPECT_CONTAINS(e.message(), "folder");
    }
}

TEST_F(ConfigFile, FileErrorsCarryTheFileName) {
    write(root_ / "bad.yaml", "input: {paths: [a]}\npool:\n  workers: many\npipeline: [{x: {}}]\n");
    try {
        load_config(root_ / "bad.yaml");
        FAIL() << "no error";
    } catch (const ConfigError &e) {
        EXPECT_EQ(e.mark().file, (root_ / "bad.yaml").string());
        EXPECT_EQ(e.mark().line, 3);
        EXPECT_EQ(e.mark().column, 12);
        EXPECT_EQ(std::string(e.what()), (root_ / "bad.yaml").string() +
                                             ":3:12: pool.workers: must be a positive whole number, \"auto\" (every core), -N (every core but N) or a share of the cores such as 50%, got \"many\"");
    }
}

// ---- YAML syntax and document shape ---------------------------------------------------------

TEST(Config, YamlSyntaxErrorHasLineAndColumn) {
    const ConfigError e = error_of("input:\n  paths: x\n    recursive: true\npipeline: []\n");
    EXPECT_ERROR_AT(e, 3, 14, "");
    EXPECT_CONTAINS(e.message(), "YAML syntax error");
    EXPECT_CONTAINS(e.message(), "illegal map value");

    const ConfigError f = error_of("input: {paths: [a, b}\n");
    EXPECT_EQ(f.mark().line, 1);
    EXPECT_CONTAINS(f.message(), "YAML syntax error");
}

TEST(Config, EmptyOrNonMappingOrMultiDocumentConfigIsAnError) {
    EXPECT_CONTAINS(error_of("").message(), "empty");
    const ConfigError list = error_of("- a\n- b\n");
    EXPECT_ERROR_AT(list, 1, 1, "");
    EXPECT_CONTAINS(list.message(), "got a list");
    const ConfigError docs = error_of(kMinimal + "---\n" + kMinimal);
    EXPECT_EQ(docs.mark().line, 5);
    EXPECT_CONTAINS(docs.message(), "2 YAML documents");
}

TEST(Config, WorkersAllButNOrAShareOfTheCoresAndNice) {
    const RunSpec but_one = load(kMinimal + "pool: {workers: -1, nice: 10}\n");
    EXPECT_EQ(but_one.pool.workers, -1);
    EXPECT_EQ(but_one.pool.nice, 10);
    const RunSpec half = load(kMinimal + "pool: {workers: 50%}\n");
    EXPECT_EQ(half.pool.workers, 0);
    EXPECT_EQ(half.pool.workers_percent, 50);
}

// Each worker is a process the coordinator tracks: more than kMaxWorkers is a config error
// naming the limit and the way past it (shards), found by validate, not by a run that grows.
TEST(Config, WorkersAreBoundedWithTheReason) {
    EXPECT_EQ(load(kMinimal + "pool: {workers: 1024}\n").pool.workers, 1024);
    const ConfigError e = error_of("input: {paths: [a]}\npool:\n  workers: 100000\npipeline: [{a: }]\n");
    EXPECT_ERROR_AT(e, 3, 12, "pool.workers");
    EXPECT_CONTAINS(e.message(), "at most 1024 workers, got 100000");
    EXPECT_CONTAINS(e.message(), "--shard");
    const ThreadBudget huge = plan_thread_budget(load(kMinimal + "pool: {workers: auto}\n").pool, 5000);
    EXPECT_EQ(huge.workers, 1024) << "auto on a machine with more cores stops at the limit";
}

TEST(Config, MaxDecodedIsASize) {
    EXPECT_EQ(load("input: {paths: [a]}\npipeline: [{a: }]\n").input.decode.max_decoded, uint64_t(1) << 30);
    EXPECT_EQ(load("input: {paths: [a], max_decoded: 64MiB}\npipeline: [{a: }]\n").input.decode.max_decoded,
              uint64_t(64) << 20);
    EXPECT_CONTAINS(error_of("input: {paths: [a], max_decoded: 0}\npipeline: [{a: }]\n").message(), "at least 1 byte");
}

TEST(Config, DuplicateKeyIsAnError) {
    const ConfigError e = error_of("input: {paths: [a]}\npool:\n  workers: 2\n  workers: 3\npipeline: [{a: }]\n");
    EXPECT_ERROR_AT(e, 4, 3, "pool.workers");
    EXPECT_CONTAINS(e.message(), "twice");
    EXPECT_CONTAINS(e.message(), ":3:3");
}

// ---- unknown and missing keys ----------------------------------------------------------------

TEST(Config, NulCharactersAreRefusedWhereTheyAre) {
    // A raw NUL byte: a binary file, or a broken editor (yaml-cpp's own message named an
    // "unknown escape character").
    static const char text[] = "input: {paths: [a]}\npipeline:\n  - gray\0scale: {}\n";
    const ConfigError raw = error_of(std::string(text, sizeof text - 1));
    EXPECT_ERROR_AT(raw, 3, 9, "");
    EXPECT_CONTAINS(raw.message(), "holds a NUL byte: a config is UTF-8 text");
    // An escaped one in a key or a value: the message shows it instead of being cut there.
    const ConfigError key = error_of("input: {paths: [a]}\npipeline:\n  - \"gray\\0scale\": {}\n");
    EXPECT_ERROR_AT(key, 3, 5, "");
    EXPECT_EQ(key.message(), "\"gray\\0scale\" holds a NUL character (\\0), which no key or value may hold");
    const ConfigError value = error_of(kMinimal + "output: {dir: \"out\\0put\"}\n");
    EXPECT_CONTAINS(value.message(), "\"out\\0put\" holds a NUL character");
}

TEST(Config, ConfigsThatWouldNeverFinishLoadingAreErrors) {
    // A stray comma after a flow mapping: yaml-cpp 0.7's LoadAll would add empty documents
    // until memory ran out.
    const ConfigError comma = error_of("{},");
    EXPECT_ERROR_AT(comma, 1, 3, "");
    EXPECT_EQ(comma.message(), "YAML syntax error: unexpected \",\"");
    // An alias inside the value it names: the tree would contain itself.
    const ConfigError cycle = error_of(kMinimal + "d: &d {y: *d}\n");
    EXPECT_CONTAINS(cycle.message(), "a config cannot be recursive");
    // "Billion laughs": nine lines whose aliases stand for 10^9 values.
    std::string laughs = "a0: &a0 [x,x,x,x,x,x,x,x,x,x]\n";
    for (int i = 1; i <= 8; ++i) {
        const std::string prev = "*a" + std::to_string(i - 1);
        laughs += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + prev;
        for (int k = 1; k < 10; ++k) laughs += "," + prev;
        laughs += "]\n";
    }
    EXPECT_CONTAINS(error_of(laughs).message(), "expand it to over 1000000 values");
    // An override is checked like the file (a command line cannot hold a NUL byte, but a
    // quoted YAML value can spell one).
    const ConfigError nul = error_of(kMinimal, {"output.dir=\"a\\0b\""});
    EXPECT_CONTAINS(nul.message(), "holds a NUL character");
}

TEST(Config, UnknownTopLevelKeySuggestsTheCloseOne) {
    const ConfigError e = error_of("input: {paths: [a]}\npipline:\n  - resize: {}\n");
    EXPECT_ERROR_AT(e, 2, 1, "pipline");
    EXPECT_EQ(e.message(), "unknown key \"pipline\" (did you mean \"pipeline\"?)");
}

TEST(Config, UnknownNestedKeysSuggestTheCloseOne) {
    const ConfigError pool = error_of(kMinimal + "pool:\n  mode: serial\n  workerz: 4\n");
    EXPECT_ERROR_AT(pool, 6, 3, "pool.workerz");
    EXPECT_EQ(pool.message(), "unknown key \"workerz\" (did you mean \"workers\"?)");

    const ConfigError input = error_of("input:\n  paths: [a]\n  recursiv: false\npipeline: [{a: }]\n");
    EXPECT_ERROR_AT(input, 3, 3, "input.recursiv");
    EXPECT_CONTAINS(input.message(), "did you mean \"recursive\"");

    const ConfigError output = error_of(kMinimal + "output: {dir: o, overwrit: true}\n");
    EXPECT_ERROR_AT(output, 4, 18, "output.overwrit");
    EXPECT_CONTAINS(output.message(), "did you mean \"overwrite\"");

    const ConfigError generate = error_of("input:\n  generate: {cout: 3}\npipeline: [{a: }]\n");
    EXPECT_ERROR_AT(generate, 2, 14, "input.generate.cout");
    EXPECT_CONTAINS(generate.message(), "did you mean \"count\"");
}

TEST(Config, UnknownKeyWithNothingCloseListsTheValidKeys) {
    const ConfigError e = error_of(kMinimal + "pool:\n  colour: blue\n");
    EXPECT_ERROR_AT(e, 5, 3, "pool.colour");
    EXPECT_CONTAINS(e.message(), "unknown key \"colour\"");
    EXPECT_FALSE(contains(e.message(), "did you mean"));
    EXPECT_CONTAINS(e.message(), "valid keys: mode, workers, start_method");
}

TEST(Config, MissingInputOrPipelineIsAnError) {
    const ConfigError no_pipeline = error_of("\ninput: {paths: [a]}\n");
    EXPECT_ERROR_AT(no_pipeline, 2, 1, "pipeline");
    EXPECT_CONTAINS(no_pipeline.message(), "missing");

    const ConfigError no_input = error_of("pipeline: [{resize: }]\n");
    EXPECT_ERROR_AT(no_input, 1, 1, "input");
    EXPECT_CONTAINS(no_input.message(), "missing");
}

// ---- input -------------------------------------------------------------------------------------

TEST(Config, InputNeedsExactlyOneOfPathsAndGenerate) {
    const ConfigError both = error_of("input:\n  paths: [a]\n  generate: {count: 2}\npipeline: [{a: }]\n");
    EXPECT_ERROR_AT(both, 3, 3, "input.generate");
    EXPECT_CONTAINS(both.message(), "cannot be used together with input.paths");

    const ConfigError neither = error_of("input:\n  recursive: true\npipeline: [{a: }]\n");
    EXPECT_ERROR_AT(neither, 1, 1, "input");
    EXPECT_CONTAINS(neither.message(), "generate");

    const ConfigError no_count = error_of("input:\n  generate: {}\npipeline: [{a: }]\n");
    EXPECT_ERROR_AT(no_count, 2, 3, "input.generate.count");

    const ConfigError negative = error_of("input:\n  generate: {count: -1}\npipeline: [{a: }]\n");
    EXPECT_ERROR_AT(negative, 2, 21, "input.generate.count");
    EXPECT_CONTAINS(negative.message(), "got -1");

    const ConfigError scalar = error_of("input:\n  generate: 8\npipeline: [{a: }]\n");
    EXPECT_ERROR_AT(scalar, 2, 13, "input.generate");
    EXPECT_CONTAINS(scalar.message(), "must be a mapping");

    // 10^12 jobs would be terabytes of plan before the first job: a config error, not bad_alloc.
    const ConfigError huge = error_of("input:\n  generate: {count: 1000000000000}\npipeline: [{a: }]\n");
    EXPECT_ERROR_AT(huge, 2, 21, "input.generate.count");
    EXPECT_CONTAINS(huge.message(), "at most 10000000, got 1000000000000");
    EXPECT_EQ(*load("input:\n  generate: {count: 10000000}\npipeline: [{a: }]\n").input.generate_count, 10000000);
}

// yaml-cpp's map iterator hands out a temporary proxy: the loader once kept references to its
// key and value past the statement (stack-use-after-scope under AddressSanitizer, and a wrong
// key or a crash with another compiler or inlining). Every key of a long mapping must arrive
// under its own name with its own value and mark.
TEST(Config, EveryKeyOfAMappingKeepsItsOwnNameValueAndMark) {
    const RunSpec s = load("input:\n  paths: [a, b]\n  recursive: false\n  include: [\"*.png\"]\n"
                           "  exclude: [\"skip*\"]\n  max_pixels: 12M\n  damaged: warn\n"
                           "pool:\n  mode: threads\n  workers: 3\n  retries: 4\n  timeout: 7s\n"
                           "pipeline: [{a: }]\n");
    EXPECT_EQ(s.input.paths.size(), 2u);
    EXPECT_FALSE(s.input.recursive);
    EXPECT_EQ(s.input.include, std::vector<std::string>{"*.png"});
    EXPECT_EQ(s.input.exclude, std::vector<std::string>{"skip*"});
    EXPECT_EQ(s.pool.workers, 3);
    EXPECT_EQ(s.pool.retries, 4);
    EXPECT_EQ(s.pool.mode, batchproc::PoolMode::threads);
    EXPECT_DOUBLE_EQ(s.pool.timeout_s, 7.0);
    EXPECT_EQ(s.input.decode.max_pixels, 12000000u);
    const ConfigError e = error_of("pool:\n  mode: serial\n  workers: 2\n  retries: 1\n  bogus: 1\n"
                                   "input: {paths: [a]}\npipeline: [{a: }]\n");
    EXPECT_ERROR_AT(e, 5, 3, "pool.bogus");
}

TEST(Config, BadPathItemsNameTheirIndex) {
    const ConfigError e = error_of("input:\n  paths:\n    - good\n    - {bad: 1}\npipeline: [{a: }]\n");
    EXPECT_ERROR_AT(e, 4, 7, "input.paths[1]");
    EXPECT_CONTAINS(e.message(), "must be a path, got a mapping");

    const ConfigError empty = error_of("input:\n  paths: []\npipeline: [{a: }]\n");
    EXPECT_ERROR_AT(empty, 2, 10, "input.paths");
    EXPECT_CONTAINS(empty.message(), "at least one");

    const ConfigError glob = error_of("input:\n  paths: [a]\n  include: {jpg: 1}\npipeline: [{a: }]\n");
    EXPECT_ERROR_AT(glob, 3, 12, "input.include");
}

TEST(Config, DecodeOptionsAreChecked) {
    const ConfigError damaged = error_of("input:\n  paths: [a]\n  damaged: ignore\npipeline: [{a: }]\n");
    EXPECT_ERROR_AT(damaged, 3, 12, "input.damaged");
    EXPECT_EQ(damaged.message(), "must be one of error, warn, got \"ignore\"");

    const ConfigError pixels = error_of("input:\n  paths: [a]\n  max_pixels: lots\npipeline: [{a: }]\n");
    EXPECT_ERROR_AT(pixels, 3, 15, "input.max_pixels");
    EXPECT_CONTAINS(pixels.message(), "268M");

    const ConfigError flag = error_of("input:\n  paths: [a]\n  exif_orientation: maybe\npipeline: [{a: }]\n");
    EXPECT_ERROR_AT(flag, 3, 21, "input.exif_orientation");
    EXPECT_EQ(flag.message(), "must be true or false, got \"maybe\"");

    const RunSpec ok = load("input: {paths: [a], max_pixels: 268435456, exif_orientation: yes}\npipeline: [{a: }]\n");
    EXPECT_EQ(ok.input.decode.max_pixels, 268435456u);
    EXPECT_TRUE(ok.input.decode.exif_orientation);
}

// ---- output ------------------------------------------------------------------------------------

TEST(Config, OutputNeedsADirAndASafeNameTemplate) {
    const ConfigError no_dir = error_of(kMinimal + "output:\n  overwrite: true\n");
    EXPECT_ERROR_AT(no_dir, 4, 1, "output.dir");
    EXPECT_CONTAINS(no_dir.message(), "missing");

    const ConfigError placeholder = error_of(kMinimal + "output:\n  dir: o\n  name: \"{stm}.{ext}\"\n");
    EXPECT_ERROR_AT(placeholder, 6, 9, "output.name");
    EXPECT_CONTAINS(placeholder.message(), "unknown placeholder {stm} (did you mean \"stem\"?)");

    const ConfigError escape = error_of(kMinimal + "output: {dir: o, name: \"../{name}\"}\n");
    EXPECT_ERROR_AT(escape, 4, 24, "output.name");
    EXPECT_CONTAINS(escape.message(), "inside output.dir");

    const ConfigError absolute = error_of(kMinimal + "output: {dir: o, name: \"/tmp/{name}\"}\n");
    EXPECT_CONTAINS(absolute.message(), "relative");

    const ConfigError brace = error_of(kMinimal + "output: {dir: o, name: \"{stem.{ext}\"}\n");
    EXPECT_CONTAINS(brace.message(), "without its \"}\"");

    // "{{" and "}}" are literal braces, as the planner reads them.
    EXPECT_EQ(load(kMinimal + "output: {dir: o, name: \"{{x}}_{stem}.{ext}\"}\n").output.name, "{{x}}_{stem}.{ext}");
}

// ---- pool --------------------------------------------------------------------------------------

TEST(Config, WrongValueTypesNameTheKeyAndPlace) {
    const std::string head = kMinimal + "pool:\n"; // pool keys are on line 5
    struct Case {
        std::string line;
        int column;
        std::string key;
        std::string message;
    };
    const Case cases[] = {
        {"  workers: [1, 2]", 12, "pool.workers", "must be a positive whole number, \"auto\" (every core), -N (every core but N) or a share of the cores such as 50%, got a list"},
        {"  workers: abc", 12, "pool.workers", "such as 50%, got \"abc\""},
        {"  workers: 150%", 12, "pool.workers", "got \"150%\""},
        {"  workers: 0%", 12, "pool.workers", "got \"0%\""},
        {"  nice: 20", 9, "pool.nice", "20"},
        {"  workers: 0", 12, "pool.workers", "got 0"},
        {"  workers: 2.5", 12, "pool.workers", "got 2.5"},
        {"  mode: paralel", 9, "pool.mode", "must be one of serial, threads, processes, got \"paralel\""},
        {"  mode: thread", 9, "pool.mode", "(did you mean \"threads\"?)"},
        {"  start_method: forkserve", 17, "pool.start_method", "(did you mean \"forkserver\"?)"},
        {"  threads_per_worker: 0", 23, "pool.threads_per_worker", "must be a whole number of at least 1, got 0"},
        {"  retries: x", 12, "pool.retries", "must be a whole number >= 0, got \"x\""},
        {"  retries: -1", 12, "pool.retries", "got -1"},
        {"  max_jobs_per_worker: {a: 1}", 24, "pool.max_jobs_per_worker", "got a mapping"},
        {"  timeout: soon", 12, "pool.timeout", "\"soon\" is not a duration"},
        {"  timeout: -5s", 12, "pool.timeout", "negative"},
        {"  max_memory: lots", 15, "pool.max_memory", "\"lots\" is not a size"},
        {"  oversubscribe: 2", 18, "pool.oversubscribe", "must be true or false, got 2"},
        {"  workers:", 3, "pool.workers", "got nothing"}, // no value: point at the key
        {"  workers: 99999999999", 12, "pool.workers", "got 99999999999"},
    };
    for (const Case &c : cases) {
        SCOPED_TRACE(c.line);
        const ConfigError e = error_of(head + c.line + "\n");
        EXPECT_ERROR_AT(e, 5, c.column, c.key);
        EXPECT_CONTAINS(e.message(), c.message);
    }
    const ConfigError not_map = error_of(kMinimal + "pool: [serial]\n");
    EXPECT_ERROR_AT(not_map, 4, 7, "pool");
    EXPECT_CONTAINS(not_map.message(), "must be a mapping");
}

// ---- pipeline ----------------------------------------------------------------------------------

TEST(Config, PipelineShapeErrors) {
    const std::string in = "input: {paths: [a]}\n";
    const ConfigError map = error_of(in + "pipeline: {resize: {}}\n");
    EXPECT_ERROR_AT(map, 2, 11, "pipeline");
    EXPECT_CONTAINS(map.message(), "must be a list of stages");

    const ConfigError empty = error_of(in + "pipeline: []\n");
    EXPECT_ERROR_AT(empty, 2, 11, "pipeline");
    EXPECT_CONTAINS(empty.message(), "at least one stage");

    const ConfigError word = error_of(in + "pipeline:\n  - resize: {}\n  - blur: {}\n  - grayscale\n");
    EXPECT_ERROR_AT(word, 5, 5, "pipeline[2]");
    EXPECT_CONTAINS(word.message(), "got \"grayscale\"");

    // The classic indentation slip: parameters at the level of the stage name.
    const ConfigError slip = error_of(in + "pipeline:\n  - resize:\n    max_side: 3\n");
    EXPECT_ERROR_AT(slip, 3, 5, "pipeline[0]");
    EXPECT_CONTAINS(slip.message(), "has 2 keys");
    EXPECT_CONTAINS(slip.message(), "indent the parameters");

    const ConfigError params = error_of(in + "pipeline:\n  - resize: 256\n");
    EXPECT_ERROR_AT(params, 3, 13, "pipeline[0].resize");
    EXPECT_CONTAINS(params.message(), "must be a mapping");

    const ConfigError dup = error_of(in + "pipeline:\n  - resize: {max_side: 1, max_side: 2}\n");
    EXPECT_ERROR_AT(dup, 3, 27, "pipeline[0].resize.max_side");
}

TEST(Config, StageNamesAndParametersAreLeftForThePluginHost) {
    const RunSpec s = load("input: {paths: [a]}\npipeline:\n  - no_such_stage: {whatever: [1, 2], x: }\n");
    ASSERT_EQ(s.pipeline.size(), 1u);
    EXPECT_EQ(s.pipeline[0].name, "no_such_stage");
    ASSERT_EQ(s.pipeline[0].params.size(), 2u);
    EXPECT_TRUE(s.pipeline[0].params[0].value.IsSequence());
    EXPECT_TRUE(s.pipeline[0].params[1].value.IsNull());
    // A value-less parameter is reported at its name.
    EXPECT_EQ(s.pipeline[0].params[1].mark.line, 3);
    EXPECT_EQ(s.pipeline[0].params[1].mark.column, 39);
}

// ---- overrides ---------------------------------------------------------------------------------

TEST(Config, OverridesSetNumbersStringsListsAndNewKeys) {
    const RunSpec s = load(kMinimal + "pool: {workers: 2}\n",
                           {"pool.workers=4", "pool.mode=serial", "input.paths=[x, /abs/y]", "output.dir=/tmp/out",
                            "input.include=*.jpg", "output.name={stem}_small.png", "pool.timeout=2m"});
    EXPECT_EQ(s.pool.workers, 4);
    EXPECT_EQ(s.pool.mode, batchproc::PoolMode::serial);
    ASSERT_EQ(s.input.paths.size(), 2u);
    EXPECT_EQ(s.input.paths[0], fs::current_path() / "x");
    EXPECT_EQ(s.input.paths[1], fs::path("/abs/y"));
    EXPECT_EQ(s.output.dir, fs::path("/tmp/out")); // the output section did not exist in the file
    EXPECT_EQ(s.input.include, std::vector<std::string>{"*.jpg"});
    EXPECT_EQ(s.output.name, "{stem}_small.png");
    EXPECT_EQ(s.output.name_mark.file, "--set");
    EXPECT_DOUBLE_EQ(s.pool.timeout_s, 120.0);
    // Later overrides win.
    EXPECT_EQ(load(kMinimal, {"pool.workers=4", "pool.workers=5"}).pool.workers, 5);
}

TEST(Config, OverridesIndexIntoThePipeline) {
    const RunSpec s = load(kMinimal + "  - grayscale:\n",
                           {"pipeline[0].resize.max_side=128", "pipeline[1].grayscale.weights=[1, 2, 3]",
                            "pipeline[2]={save: {format: png}}"});
    ASSERT_EQ(s.pipeline.size(), 3u);
    ASSERT_EQ(s.pipeline[0].params.size(), 1u);
    EXPECT_EQ(s.pipeline[0].params[0].value.Scalar(), "128");
    EXPECT_EQ(s.pipeline[0].params[0].mark.file, "--set");
    EXPECT_EQ(s.pipeline[0].mark.line, 3); // the stage itself still comes from the file
    ASSERT_EQ(s.pipeline[1].params.size(), 1u);
    EXPECT_EQ(s.pipeline[1].params[0].value.size(), 3u);
    EXPECT_EQ(s.pipeline[2].name, "save");
    EXPECT_EQ(s.pipeline[2].mark.file, "--set");

    const ConfigError far = error_of(kMinimal, {"pipeline[5].resize.max_side=1"});
    EXPECT_EQ(far.mark().file, "--set");
    EXPECT_EQ(far.key(), "pipeline[5].resize.max_side");
    EXPECT_CONTAINS(far.message(), "has 1 item");
}

TEST(Config, MalformedOverridesAreErrorsFromSet) {
    const ConfigError no_eq = error_of(kMinimal, {"pool.workers"});
    EXPECT_EQ(no_eq.mark().file, "--set");
    EXPECT_EQ(no_eq.mark().line, 0);
    EXPECT_EQ(no_eq.key(), "pool.workers");
    EXPECT_CONTAINS(no_eq.message(), "key=value");

    const ConfigError no_key = error_of(kMinimal, {"=4"});
    EXPECT_EQ(no_key.mark().file, "--set");
    EXPECT_EQ(no_key.key(), "");
    EXPECT_CONTAINS(no_key.message(), "no key");

    const ConfigError dots = error_of(kMinimal, {"pool..workers=4"});
    EXPECT_EQ(dots.mark().file, "--set");
    EXPECT_EQ(dots.key(), "pool..workers");

    const ConfigError index = error_of(kMinimal, {"pipeline[x].a=1"});
    EXPECT_EQ(index.key(), "pipeline[x].a");
    EXPECT_CONTAINS(index.message(), "index");

    const ConfigError yaml = error_of(kMinimal, {"input.paths=[a, b"});
    EXPECT_EQ(yaml.mark().file, "--set");
    EXPECT_CONTAINS(yaml.message(), "not valid YAML");

    const ConfigError into_scalar = error_of(kMinimal + "pool: {workers: 2}\n", {"pool.workers.x=1"});
    EXPECT_EQ(into_scalar.mark().file, "--set");
    EXPECT_CONTAINS(into_scalar.message(), "not a mapping");
}

TEST(Config, BadValuesFromOverridesPointAtSet) {
    const ConfigError e = error_of(kMinimal + "pool:\n  workers: 2\n", {"pool.workers=abc"});
    EXPECT_EQ(e.mark().file, "--set");
    EXPECT_EQ(e.mark().line, 0);
    EXPECT_EQ(e.key(), "pool.workers");
    EXPECT_CONTAINS(e.message(), "got \"abc\"");
    EXPECT_EQ(std::string(e.what()), "--set: pool.workers: must be a positive whole number, \"auto\" (every core), -N (every core but N) or a share of the cores such as 50%, got \"abc\"");

    const ConfigError unknown = error_of(kMinimal, {"pool.workerz=3"});
    EXPECT_EQ(unknown.mark().file, "--set");
    EXPECT_EQ(unknown.key(), "pool.workerz");
    EXPECT_CONTAINS(unknown.message(), "did you mean \"workers\"");

    const ConfigError item = error_of(kMinimal, {"input.paths=[a, {b: 1}]"});
    EXPECT_EQ(item.mark().file, "--set");
    EXPECT_EQ(item.key(), "input.paths[1]");

    // A value left in the file is still reported at its line, even with overrides present.
    const ConfigError file = error_of(kMinimal + "pool:\n  retries: many\n", {"pool.workers=2"});
    EXPECT_ERROR_AT(file, 5, 12, "pool.retries");
}
