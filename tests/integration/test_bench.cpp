// `batchproc bench` as a user runs it: rows, result files (JSON, CSV, SVG), the check of
// every row's outputs and metrics against the serial run, failed jobs, bad options, and
// the scratch folders left behind (none). Never asserts on speed.
#include "support/run_helpers.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace batchproc::test;

namespace {

std::string probe_plugin_path() { return std::string(BP_TEST_PLUGIN_DIR) + "/bench_probe.so"; }

struct BenchRun {
    int exit_code = -1;
    bool finished = false;
    std::string out, err;
    std::string tag;

    std::string diag() const {
        return "exit " + std::to_string(exit_code) + "\n--- stdout\n" + out + "--- stderr\n" + err;
    }
};

class Bench : public ::testing::Test {
protected:
    Bench() { fs::create_directories(scratch_); }

    // Runs `batchproc bench CONFIG args...` with TMPDIR pointing at a folder of its own, so
    // that the test can see that the bench leaves no scratch folder behind.
    BenchRun bench(const fs::path &config, const std::vector<std::string> &args) {
        std::vector<std::string> all{"bench", config.string()};
        all.insert(all.end(), args.begin(), args.end());
        BatchprocProcess p(all, dir_.path() / "logs", {{"TMPDIR", scratch_.string()}});
        BenchRun r;
        r.finished = p.wait(std::chrono::seconds(280));
        r.exit_code = p.exit_code();
        r.out = p.out();
        r.err = p.err();
        r.tag = p.tag();
        return r;
    }

    // A config over `count` generated jobs running `pipeline`, with `plugins`.
    fs::path generated_config(const std::string &name, const std::string &plugins, int count,
                              const std::string &pipeline) {
        const fs::path config = dir_.path() / (name + ".yaml");
        PoolOptions pool;
        pool.mode = "processes";
        pool.start_method = "forkserver";
        pool.workers = 2;
        pool.timeout = "60s";
        std::string y = "plugins: [" + plugins + "]\n";
        y += "input:\n  generate: {count: " + std::to_string(count) + "}\n";
        y += pool_yaml(pool);
        y += "report: " + yaml_quote((dir_.path() / (name + "-report.json")).string()) + "\n";
        y += "pipeline:\n" + pipeline;
        write_text(config, y);
        return config;
    }

    void expect_scratch_empty() {
        std::vector<std::string> left;
        for (const auto &e : fs::directory_iterator(scratch_)) left.push_back(e.path().filename().string());
        EXPECT_TRUE(left.empty()) << "left in TMPDIR: " << (left.empty() ? "" : left.front());
    }

    void expect_clean(const BenchRun &r) {
        expect_scratch_empty();
        EXPECT_TRUE(wait_no_processes_with_tag(r.tag, std::chrono::seconds(3)).empty())
            << "processes of the bench outlived it";
    }

    fs::path path(const std::string &name) const { return dir_.path() / name; }

    TempDir dir_{"bp-bench"};
    fs::path scratch_ = dir_.path() / "tmp";
};

std::vector<std::string> lines_of(const std::string &text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) lines.push_back(line);
    return lines;
}

TEST_F(Bench, SumOfSquaresInEveryModeMatchesSerialAndWritesJsonCsvSvg) {
    const fs::path config = generated_config("sumsq", "sumsq", 4, "  - sum_of_squares: {n: 2000000}\n");
    const BenchRun r = bench(config, {"--modes", "serial,threads,processes", "--workers", "1,2", "--repeat", "1",
                                      "--json", path("bench.json").string(), "--csv", path("bench.csv").string(),
                                      "--plot", path("bench.svg").string()});
    ASSERT_TRUE(r.finished) << r.diag();
    ASSERT_EQ(r.exit_code, 0) << r.diag();
    expect_clean(r);
    EXPECT_FALSE(fs::exists(path("sumsq-report.json"))) << "bench must not write the config's report";

    // The table: a header and 5 rows (serial; threads 1, 2; processes forkserver 1, 2).
    EXPECT_NE(r.out.find("start method"), std::string::npos) << r.diag();
    EXPECT_NE(r.out.find("reference"), std::string::npos) << r.diag();
    EXPECT_EQ(r.out.find("MISMATCH"), std::string::npos) << r.diag();

    const nlohmann::json j = read_json(path("bench.json"));
    ASSERT_TRUE(j.contains("rows")) << j.dump();
    const nlohmann::json &rows = j.at("rows");
    ASSERT_EQ(rows.size(), 5u) << j.dump(2);
    std::set<std::string> seen;
    const std::set<std::string> want_keys{"mode",       "workers", "start_method", "wall_s",
                                          "jobs_per_s", "speedup", "efficiency",   "outputs_match"};
    for (const auto &row : rows) {
        std::set<std::string> keys;
        for (auto it = row.begin(); it != row.end(); ++it) keys.insert(it.key());
        EXPECT_EQ(keys, want_keys) << row.dump();
        const std::string mode = row.at("mode");
        seen.insert(mode + "/" + std::to_string(row.at("workers").get<int>()) + "/" +
                    (row.at("start_method").is_null() ? "-" : row.at("start_method").get<std::string>()));
        EXPECT_EQ(row.at("outputs_match"), true) << row.dump();
        const auto &wall = row.at("wall_s");
        EXPECT_GT(wall.at("median").get<double>(), 0.0) << row.dump();
        EXPECT_LE(wall.at("min").get<double>(), wall.at("median").get<double>()) << row.dump();
        EXPECT_LE(wall.at("median").get<double>(), wall.at("max").get<double>()) << row.dump();
        EXPECT_GT(row.at("jobs_per_s").get<double>(), 0.0) << row.dump();
        EXPECT_GT(row.at("speedup").get<double>(), 0.0) << row.dump();
        EXPECT_NEAR(row.at("efficiency").get<double>(),
                    row.at("speedup").get<double>() / row.at("workers").get<double>(), 1e-4)
            << row.dump();
    }
    EXPECT_EQ(seen, (std::set<std::string>{"serial/1/-", "threads/1/-", "threads/2/-", "processes/1/forkserver",
                                           "processes/2/forkserver"}));
    EXPECT_NEAR(rows[0].at("speedup").get<double>(), 1.0, 1e-9);

    const auto csv = lines_of(read_text(path("bench.csv")));
    ASSERT_EQ(csv.size(), 6u) << read_text(path("bench.csv"));
    EXPECT_EQ(csv[0].rfind("mode,workers,start_method,", 0), 0u) << csv[0];
    EXPECT_EQ(csv[1].rfind("serial,1,,", 0), 0u) << csv[1];

    const std::string svg = read_text(path("bench.svg"));
    EXPECT_EQ(svg.rfind("<svg", 0), 0u);
    EXPECT_NE(svg.find("</svg>"), std::string::npos);
    size_t polylines = 0;
    for (size_t at = svg.find("<polyline"); at != std::string::npos; at = svg.find("<polyline", at + 1)) ++polylines;
    EXPECT_EQ(polylines, 3u) << "serial, threads, processes (forkserver)";
    EXPECT_NE(svg.find("class=\"ideal\""), std::string::npos);
}

TEST_F(Bench, ImageOutputsAreComparedByteForByteUnderEachStartMethod) {
    const fs::path out = path("configured-out");
    const fs::path config = path("images.yaml");
    PoolOptions pool;
    pool.workers = 2;
    pool.timeout = "60s";
    std::string y = "plugins: [imgproc]\n";
    y += "input:\n  paths: [" + yaml_quote(std::string(BP_SOURCE_DIR) + "/samples/images") + "]\n  recursive: true\n";
    y += "output:\n  dir: " + yaml_quote(out.string()) + "\n  name: \"{rel_dir}/{stem}.{ext}\"\n";
    y += pool_yaml(pool);
    y += "pipeline:\n  - resize: {max_side: 64, interpolation: area}\n  - save: {format: png}\n";
    write_text(config, y);

    const BenchRun r = bench(config, {"--modes", "serial,processes", "--workers", "2", "--start-methods", "fork,spawn",
                                      "--repeat", "1", "--json", path("images.json").string()});
    ASSERT_TRUE(r.finished) << r.diag();
    // Some sample images may be deliberately broken: failed jobs give exit 1, never a mismatch.
    EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.diag();
    EXPECT_EQ(r.out.find("MISMATCH"), std::string::npos) << r.diag();
    expect_clean(r);
    EXPECT_FALSE(fs::exists(out)) << "bench writes into scratch folders, never into the config's output.dir";
    const nlohmann::json j = read_json(path("images.json"));
    ASSERT_EQ(j.at("rows").size(), 3u) << j.dump(2);
    EXPECT_EQ(j.at("rows")[1].at("start_method"), "fork");
    EXPECT_EQ(j.at("rows")[2].at("start_method"), "spawn");
    for (const auto &row : j.at("rows")) EXPECT_EQ(row.at("outputs_match"), true) << row.dump();
}

TEST_F(Bench, AMetricThatDependsOnTheProcessIsFlaggedAsAMismatch) {
    const fs::path config = generated_config("probe", yaml_quote(probe_plugin_path()), 3, "  - pid_metric: {}\n");
    const BenchRun r = bench(config, {"--modes", "threads,processes", "--workers", "2", "--repeat", "1", "--json",
                                      path("probe.json").string()});
    ASSERT_TRUE(r.finished) << r.diag();
    EXPECT_EQ(r.exit_code, 1) << r.diag();
    expect_clean(r);
    // Serial was not asked for but runs as the reference, and the output says so.
    EXPECT_NE(r.out.find("serial is not in --modes"), std::string::npos) << r.diag();
    // A loud line naming the row, the job and the metric.
    const size_t at = r.out.find("MISMATCH: processes, 2 workers, forkserver");
    ASSERT_NE(at, std::string::npos) << r.diag();
    const std::string line = r.out.substr(at, r.out.find('\n', at) - at);
    EXPECT_NE(line.find("job #0"), std::string::npos) << line;
    EXPECT_NE(line.find("\"pid\""), std::string::npos) << line;
    // Threads run in the bench's own process, as serial does: same pid, no mismatch.
    EXPECT_EQ(r.out.find("MISMATCH: threads"), std::string::npos) << r.diag();

    const nlohmann::json j = read_json(path("probe.json"));
    ASSERT_EQ(j.at("rows").size(), 2u) << j.dump(2);
    EXPECT_EQ(j.at("rows")[0].at("mode"), "threads");
    EXPECT_EQ(j.at("rows")[0].at("outputs_match"), true);
    EXPECT_EQ(j.at("rows")[1].at("mode"), "processes");
    EXPECT_EQ(j.at("rows")[1].at("outputs_match"), false);
}

TEST_F(Bench, FailedJobsAreCountedAndTheBenchGoesOn) {
    const fs::path config = generated_config("faults", yaml_quote(faults_plugin_path()), 4,
                                             "  - fault: {action: throw, on_index: \"1\"}\n  - mark: {}\n");
    const BenchRun r = bench(config, {"--modes", "serial,threads,processes", "--workers", "2", "--repeat", "1", "--csv",
                                      path("faults.csv").string()});
    ASSERT_TRUE(r.finished) << r.diag();
    EXPECT_EQ(r.exit_code, 1) << r.diag();
    expect_clean(r);
    EXPECT_EQ(r.out.find("MISMATCH"), std::string::npos) << "the same job fails in every mode" << r.diag();
    EXPECT_NE(r.out.find("had failed jobs"), std::string::npos) << r.diag();
    const auto csv = lines_of(read_text(path("faults.csv")));
    ASSERT_EQ(csv.size(), 4u);
    for (size_t i = 1; i < csv.size(); ++i) {
        EXPECT_NE(csv[i].find(",true,1"), std::string::npos) << csv[i]; // outputs_match, failed = 1
    }
}

TEST_F(Bench, BadOptionsAreUsageErrors) {
    const fs::path config = generated_config("usage", "sumsq", 1, "  - sum_of_squares: {n: 1000}\n");
    for (const std::vector<std::string> &args : std::vector<std::vector<std::string>>{{"--modes", "serial,bogus"},
                                                                                      {"--start-methods", "vfork"},
                                                                                      {"--repeat", "0"},
                                                                                      {"--workers", "0"},
                                                                                      {"--workers", "two"},
                                                                                      {"--set", "pool.nope=1"}}) {
        const BenchRun r = bench(config, args);
        ASSERT_TRUE(r.finished) << r.diag();
        EXPECT_EQ(r.exit_code, 2) << args[0] << " " << args[1] << "\n" << r.diag();
        EXPECT_EQ(r.out.find("mode "), std::string::npos) << "no table on a usage error\n" << r.diag();
    }
    expect_scratch_empty();
}

} // namespace
