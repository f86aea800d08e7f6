// The bench's pure parts: wall-time stats, speedup/efficiency, the table, the mismatch
// lines, JSON/CSV/SVG, FNV-1a and the comparison of job fingerprints.
#include "bench/bench.hpp"
#include "support/run_helpers.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <sstream>

namespace fs = std::filesystem;
using namespace batchproc;

namespace {

size_t count_of(const std::string &text, const std::string &what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
    return n;
}

std::vector<std::string> lines_of(const std::string &text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

BenchRow make_row(const std::string &mode, int workers, const std::string &method, std::vector<double> walls) {
    BenchRow r;
    r.mode = mode;
    r.workers = workers;
    r.start_method = method;
    r.jobs = 8;
    r.wall_s = std::move(walls);
    return r;
}

// serial 4 s; threads 2 workers 2.5 s; processes forkserver 1 and 2 workers 4.2 / 2.1 s.
std::vector<BenchRow> sample_rows() {
    std::vector<BenchRow> rows;
    rows.push_back(make_row("serial", 1, "", {4.1, 3.9, 4.0}));
    rows.push_back(make_row("threads", 2, "", {2.5, 2.6, 2.4}));
    rows.push_back(make_row("processes", 1, "forkserver", {4.2, 4.2, 4.2}));
    rows.push_back(make_row("processes", 2, "forkserver", {2.0, 2.2, 2.1}));
    finish_rows(rows);
    return rows;
}

TEST(BenchStats, MedianMinMax) {
    const WallStats odd = wall_stats({3.0, 1.0, 2.0});
    EXPECT_DOUBLE_EQ(odd.median, 2.0);
    EXPECT_DOUBLE_EQ(odd.min, 1.0);
    EXPECT_DOUBLE_EQ(odd.max, 3.0);
    const WallStats even = wall_stats({4.0, 1.0, 3.0, 2.0});
    EXPECT_DOUBLE_EQ(even.median, 2.5);
    EXPECT_DOUBLE_EQ(even.min, 1.0);
    EXPECT_DOUBLE_EQ(even.max, 4.0);
    const WallStats one = wall_stats({0.7});
    EXPECT_DOUBLE_EQ(one.median, 0.7);
    const WallStats none = wall_stats({});
    EXPECT_DOUBLE_EQ(none.median, 0.0);
    EXPECT_DOUBLE_EQ(none.max, 0.0);
}

TEST(BenchStats, SpeedupAndEfficiency) {
    EXPECT_DOUBLE_EQ(bench_speedup(4.0, 2.0), 2.0);
    EXPECT_DOUBLE_EQ(bench_speedup(4.0, 0.0), 0.0);
    EXPECT_DOUBLE_EQ(bench_efficiency(1.5, 2), 0.75);
    EXPECT_DOUBLE_EQ(bench_efficiency(3.6, 4), 0.9);

    const std::vector<BenchRow> rows = sample_rows();
    EXPECT_DOUBLE_EQ(rows[0].wall.median, 4.0);
    EXPECT_DOUBLE_EQ(rows[0].speedup, 1.0);
    EXPECT_DOUBLE_EQ(rows[0].efficiency, 1.0);
    EXPECT_DOUBLE_EQ(rows[0].jobs_per_s, 2.0);
    EXPECT_DOUBLE_EQ(rows[1].speedup, 4.0 / 2.5);
    EXPECT_DOUBLE_EQ(rows[1].efficiency, 4.0 / 2.5 / 2);
    EXPECT_DOUBLE_EQ(rows[1].jobs_per_s, 8 / 2.5);
    EXPECT_DOUBLE_EQ(rows[2].speedup, 4.0 / 4.2);
    EXPECT_DOUBLE_EQ(rows[3].speedup, 4.0 / 2.1);
    EXPECT_DOUBLE_EQ(rows[3].efficiency, 4.0 / 2.1 / 2);
}

TEST(BenchStats, NoSerialRowLeavesSpeedupZero) {
    std::vector<BenchRow> rows{make_row("threads", 2, "", {1.0})};
    finish_rows(rows);
    EXPECT_DOUBLE_EQ(rows[0].speedup, 0.0);
    EXPECT_DOUBLE_EQ(rows[0].jobs_per_s, 8.0);
}

TEST(BenchTable, ShowsEveryRowWithItsNumbersAndFlags) {
    std::vector<BenchRow> rows = sample_rows();
    rows[3].outputs_match = false;
    rows[3].mismatch = "job #3: metric \"pid\" differs: serial 10, this row 11";
    rows[1].failed = 2;
    const std::string table = format_table(rows);
    const auto lines = lines_of(table);
    ASSERT_EQ(lines.size(), 5u) << table;
    for (const char *col : {"mode", "workers", "start method", "median (min-max)", "jobs/s", "speedup", "efficiency",
                            "failed", "outputs"})
        EXPECT_NE(lines[0].find(col), std::string::npos) << col << "\n" << table;
    // serial: 4.000 (3.900-4.100), 2.00 jobs/s, speedup 1.00, the reference.
    EXPECT_NE(lines[1].find("serial"), std::string::npos);
    EXPECT_NE(lines[1].find("4.000 (3.900-4.100)"), std::string::npos) << lines[1];
    EXPECT_NE(lines[1].find("reference"), std::string::npos) << lines[1];
    EXPECT_NE(lines[1].find("1.00"), std::string::npos) << lines[1];
    // threads 2: 2.500 (2.400-2.600), 3.20 jobs/s, speedup 1.60, efficiency 0.80, 2 failed.
    EXPECT_NE(lines[2].find("2.500 (2.400-2.600)"), std::string::npos) << lines[2];
    EXPECT_NE(lines[2].find("3.20"), std::string::npos) << lines[2];
    EXPECT_NE(lines[2].find("1.60"), std::string::npos) << lines[2];
    EXPECT_NE(lines[2].find("0.80"), std::string::npos) << lines[2];
    EXPECT_NE(lines[2].find("  2  "), std::string::npos) << lines[2];
    EXPECT_NE(lines[2].find("match"), std::string::npos) << lines[2];
    // processes 2 forkserver: speedup 4/2.1 = 1.90, efficiency 0.95, MISMATCH.
    EXPECT_NE(lines[4].find("forkserver"), std::string::npos) << lines[4];
    EXPECT_NE(lines[4].find("1.90"), std::string::npos) << lines[4];
    EXPECT_NE(lines[4].find("0.95"), std::string::npos) << lines[4];
    EXPECT_NE(lines[4].find("MISMATCH"), std::string::npos) << lines[4];
    EXPECT_EQ(count_of(table, "MISMATCH"), 1u) << table;
    // Threads and serial rows have no start method.
    EXPECT_NE(lines[2].find(" - "), std::string::npos) << lines[2];
}

TEST(BenchTable, ShortRunsKeepThreeSignificantDigits) {
    std::vector<BenchRow> rows{make_row("serial", 1, "", {0.00123, 0.0011, 0.0015})};
    finish_rows(rows);
    const std::string table = format_table(rows);
    EXPECT_NE(table.find("0.00123 (0.0011-0.0015)"), std::string::npos) << table;
}

TEST(BenchTable, MarksAReferenceOnlySerialRow) {
    std::vector<BenchRow> rows = sample_rows();
    rows[0].requested = false;
    const std::string table = format_table(rows);
    EXPECT_NE(table.find("serial*"), std::string::npos) << table;
    EXPECT_NE(table.find("serial is not in --modes"), std::string::npos) << table;
    EXPECT_EQ(format_table(sample_rows()).find("not in --modes"), std::string::npos);
}

TEST(BenchTable, MismatchLinesNameTheRowAndTheDifference) {
    std::vector<BenchRow> rows = sample_rows();
    EXPECT_EQ(format_mismatches(rows), "");
    rows[3].outputs_match = false;
    rows[3].mismatch = "job #3: metric \"pid\" differs: serial 10, this row 11";
    const std::string text = format_mismatches(rows);
    EXPECT_EQ(lines_of(text).size(), 1u) << text;
    EXPECT_NE(text.find("MISMATCH"), std::string::npos) << text;
    EXPECT_NE(text.find("processes, 2 workers, forkserver"), std::string::npos) << text;
    EXPECT_NE(text.find("job #3"), std::string::npos) << text;
    EXPECT_NE(text.find("\"pid\""), std::string::npos) << text;
    EXPECT_EQ(row_label(rows[0]), "serial, 1 worker");
    EXPECT_EQ(row_label(rows[1]), "threads, 2 workers");
}

TEST(BenchJson, RowsHaveExactlyTheContractsKeys) {
    std::vector<BenchRow> rows = sample_rows();
    rows[3].outputs_match = false;
    const nlohmann::json j = nlohmann::json::parse(rows_json(rows).dump());
    ASSERT_TRUE(j.is_object());
    ASSERT_EQ(j.size(), 1u);
    const nlohmann::json &list = j.at("rows");
    ASSERT_EQ(list.size(), 4u);
    const std::set<std::string> want{"mode",       "workers", "start_method", "wall_s",
                                     "jobs_per_s", "speedup", "efficiency",   "outputs_match"};
    for (const auto &row : list) {
        std::set<std::string> keys;
        for (auto it = row.begin(); it != row.end(); ++it) keys.insert(it.key());
        EXPECT_EQ(keys, want) << row.dump();
        std::set<std::string> wall_keys;
        for (auto it = row.at("wall_s").begin(); it != row.at("wall_s").end(); ++it) wall_keys.insert(it.key());
        EXPECT_EQ(wall_keys, (std::set<std::string>{"median", "min", "max"}));
    }
    EXPECT_EQ(list[0].at("mode"), "serial");
    EXPECT_EQ(list[0].at("workers"), 1);
    EXPECT_TRUE(list[0].at("start_method").is_null());
    EXPECT_NEAR(list[0].at("wall_s").at("median").get<double>(), 4.0, 1e-9);
    EXPECT_NEAR(list[0].at("wall_s").at("min").get<double>(), 3.9, 1e-9);
    EXPECT_NEAR(list[0].at("wall_s").at("max").get<double>(), 4.1, 1e-9);
    EXPECT_NEAR(list[0].at("jobs_per_s").get<double>(), 2.0, 1e-9);
    EXPECT_NEAR(list[0].at("speedup").get<double>(), 1.0, 1e-9);
    EXPECT_TRUE(list[1].at("start_method").is_null());
    EXPECT_EQ(list[1].at("mode"), "threads");
    EXPECT_NEAR(list[1].at("speedup").get<double>(), 1.6, 1e-5);
    EXPECT_NEAR(list[1].at("efficiency").get<double>(), 0.8, 1e-5);
    EXPECT_EQ(list[3].at("mode"), "processes");
    EXPECT_EQ(list[3].at("workers"), 2);
    EXPECT_EQ(list[3].at("start_method"), "forkserver");
    EXPECT_NEAR(list[3].at("speedup").get<double>(), 4.0 / 2.1, 1e-5);
    EXPECT_NEAR(list[3].at("efficiency").get<double>(), 4.0 / 2.1 / 2, 1e-5);
    EXPECT_NEAR(list[3].at("jobs_per_s").get<double>(), 8 / 2.1, 1e-4);
    EXPECT_EQ(list[3].at("outputs_match"), false);
    EXPECT_EQ(list[2].at("outputs_match"), true);
}

TEST(BenchJson, AReferenceOnlySerialRowIsNotARow) {
    std::vector<BenchRow> rows = sample_rows();
    rows[0].requested = false;
    const nlohmann::json j = nlohmann::json::parse(rows_json(rows).dump());
    ASSERT_EQ(j.at("rows").size(), 3u);
    EXPECT_EQ(j.at("rows")[0].at("mode"), "threads");
    EXPECT_NEAR(j.at("rows")[0].at("speedup").get<double>(), 1.6, 1e-5); // still against serial
}

TEST(BenchCsv, HeaderAndOneLinePerRow) {
    std::vector<BenchRow> rows = sample_rows();
    rows[3].outputs_match = false;
    rows[1].failed = 1;
    const auto lines = lines_of(rows_csv(rows));
    ASSERT_EQ(lines.size(), 5u);
    EXPECT_EQ(lines[0], "mode,workers,start_method,wall_median_s,wall_min_s,wall_max_s,jobs_per_s,speedup,efficiency,"
                        "outputs_match,failed");
    EXPECT_EQ(lines[1], "serial,1,,4,3.9,4.1,2,1,1,true,0");
    EXPECT_EQ(lines[2], "threads,2,,2.5,2.4,2.6,3.2,1.6,0.8,true,1");
    EXPECT_EQ(lines[4].rfind("processes,2,forkserver,2.1,2,2.2,", 0), 0u) << lines[4];
    EXPECT_NE(lines[4].find(",false,0"), std::string::npos) << lines[4];
    for (const std::string &l : lines) EXPECT_EQ(std::count(l.begin(), l.end(), ','), 10) << l;
}

TEST(BenchSvg, ChartHasAxesOneSeriesPerModeAndTheIdealLine) {
    std::vector<BenchRow> rows = sample_rows();
    rows.push_back(make_row("processes", 4, "spawn", {1.3}));
    rows.push_back(make_row("processes", 2, "spawn", {2.3}));
    finish_rows(rows);
    const std::string svg = speedup_svg(rows, "bench <a & b>");
    EXPECT_EQ(svg.rfind("<svg", 0), 0u);
    EXPECT_NE(svg.find("xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos);
    EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
    // serial, threads, processes (forkserver), processes (spawn).
    EXPECT_EQ(count_of(svg, "<polyline"), 4u) << svg;
    EXPECT_EQ(count_of(svg, "<g class=\"series\""), 4u);
    for (const char *name : {"serial", "threads", "processes (forkserver)", "processes (spawn)"})
        EXPECT_NE(svg.find(std::string(">") + name + "</text>"), std::string::npos) << name;
    EXPECT_NE(svg.find("class=\"ideal\""), std::string::npos);
    EXPECT_NE(svg.find("stroke-dasharray"), std::string::npos);
    EXPECT_NE(svg.find("ideal (speedup = workers)"), std::string::npos);
    EXPECT_NE(svg.find(">workers</text>"), std::string::npos);
    EXPECT_NE(svg.find(">speedup vs serial</text>"), std::string::npos);
    EXPECT_NE(svg.find("bench &lt;a &amp; b&gt;"), std::string::npos);
    EXPECT_EQ(svg.find("<a & b>"), std::string::npos);
    // x ticks 0..4; a marker per point (6 points + 4 legend markers).
    for (const char *tick : {">0</text>", ">1</text>", ">2</text>", ">3</text>", ">4</text>"})
        EXPECT_NE(svg.find(tick), std::string::npos) << tick;
    EXPECT_EQ(count_of(svg, "<circle"), 10u);
    EXPECT_EQ(count_of(svg, "<g"), count_of(svg, "</g>"));
    EXPECT_EQ(count_of(svg, "<text"), count_of(svg, "</text>"));
    // The spawn series goes left to right (points sorted by workers).
    const size_t spawn = svg.find("data-name=\"processes (spawn)\"");
    ASSERT_NE(spawn, std::string::npos);
    const size_t pts = svg.find("points=\"", spawn) + 8;
    const std::string points = svg.substr(pts, svg.find('"', pts) - pts);
    const double x1 = std::stod(points.substr(0, points.find(',')));
    const double x2 = std::stod(points.substr(points.find(' ') + 1));
    EXPECT_LT(x1, x2) << points;
}

TEST(BenchSvg, LeavesOutAReferenceOnlySerialRow) {
    std::vector<BenchRow> rows = sample_rows();
    rows[0].requested = false;
    const std::string svg = speedup_svg(rows, "t");
    EXPECT_EQ(count_of(svg, "<polyline"), 2u);
    EXPECT_EQ(svg.find(">serial</text>"), std::string::npos);
}

TEST(BenchCompare, Fnv1a64KnownValues) {
    EXPECT_EQ(fnv1a64("", 0), 0xcbf29ce484222325ull);
    EXPECT_EQ(fnv1a64("a", 1), 0xaf63dc4c8601ec8cull);
    EXPECT_EQ(fnv1a64("foobar", 6), 0x85944171f73967e8ull);
    // Continuing a hash equals hashing the whole.
    EXPECT_EQ(fnv1a64("bar", 3, fnv1a64("foo", 3)), fnv1a64("foobar", 6));
}

JobFingerprint print(const std::string &job, const std::string &metrics, uint64_t hash = 0, bool output = false) {
    JobFingerprint f;
    f.job = job;
    f.status = "ok";
    f.metrics = nlohmann::json::parse(metrics);
    if (output) {
        f.output = job + ".jpg";
        f.output_exists = true;
        f.output_size = 100;
        f.output_hash = hash;
    }
    return f;
}

TEST(BenchCompare, FirstDifferenceNamesTheJobAndWhatDiffers) {
    const std::vector<JobFingerprint> ref{print("#0", R"({"sum": "1", "n": 2})"),
                                          print("#1", R"({"sum": "5", "n": 2})")};
    std::vector<JobFingerprint> same{print("#0", R"({"n": 2, "sum": "1"})"), print("#1", R"({"sum": "5", "n": 2})")};
    EXPECT_EQ(first_difference(ref, same), "") << "key order does not matter";

    std::vector<JobFingerprint> metric = same;
    metric[1].metrics["sum"] = "6";
    const std::string m = first_difference(ref, metric);
    EXPECT_NE(m.find("#1"), std::string::npos) << m;
    EXPECT_NE(m.find("\"sum\""), std::string::npos) << m;
    EXPECT_NE(m.find("\"5\""), std::string::npos) << m;
    EXPECT_NE(m.find("\"6\""), std::string::npos) << m;

    std::vector<JobFingerprint> extra = same;
    extra[0].metrics["pid"] = 42;
    const std::string e = first_difference(ref, extra);
    EXPECT_NE(e.find("#0"), std::string::npos) << e;
    EXPECT_NE(e.find("\"pid\""), std::string::npos) << e;
    EXPECT_NE(e.find("absent"), std::string::npos) << e;

    std::vector<JobFingerprint> status = same;
    status[0].status = "failed";
    const std::string s = first_difference(ref, status);
    EXPECT_NE(s.find("#0"), std::string::npos) << s;
    EXPECT_NE(s.find("failed"), std::string::npos) << s;

    std::vector<JobFingerprint> fewer{same[0]};
    EXPECT_NE(first_difference(ref, fewer).find("job count"), std::string::npos);
}

TEST(BenchCompare, OutputBytesAreCompared) {
    const std::vector<JobFingerprint> ref{print("a", "{}", 7, true), print("b", "{}", 9, true)};
    std::vector<JobFingerprint> run = ref;
    EXPECT_EQ(first_difference(ref, run), "");
    run[1].output_hash = 10;
    const std::string d = first_difference(ref, run);
    EXPECT_NE(d.find("job b"), std::string::npos) << d;
    EXPECT_NE(d.find("output b.jpg"), std::string::npos) << d;
    run[1] = ref[1];
    run[1].output_exists = false;
    EXPECT_NE(first_difference(ref, run).find("missing"), std::string::npos);
}

TEST(BenchCompare, FingerprintsReadTheOutputFiles) {
    batchproc::test::TempDir dir("bp-bench-unit");
    const fs::path out = dir.path() / "out";
    batchproc::test::write_text(out / "x" / "a.png", "hello");
    std::vector<PlannedJob> jobs(3);
    jobs[0].display = "a.png";
    jobs[0].outputs = {out / "x" / "a.png"};
    jobs[1].display = "b.png";
    jobs[1].outputs = {out / "b.png"}; // never written
    jobs[2].display = "#2";         // no output
    std::vector<JobRecord> records(3);
    records[0].status = JobStatus::ok;
    records[0].metrics_json = R"({"width": 3})";
    records[1].status = JobStatus::failed;
    records[2].status = JobStatus::ok;
    records[2].metrics_json = "not json";
    const auto prints = fingerprint_jobs(jobs, records, out);
    ASSERT_EQ(prints.size(), 3u);
    EXPECT_EQ(prints[0].output, "x/a.png");
    EXPECT_TRUE(prints[0].output_exists);
    EXPECT_EQ(prints[0].output_size, 5u);
    EXPECT_EQ(prints[0].output_hash, fnv1a64("hello", 5));
    EXPECT_EQ(prints[0].metrics, nlohmann::json::parse(R"({"width": 3})"));
    EXPECT_EQ(prints[0].status, "ok");
    EXPECT_FALSE(prints[1].output_exists);
    EXPECT_EQ(prints[1].status, "failed");
    EXPECT_EQ(prints[2].output, "");
    EXPECT_TRUE(prints[2].metrics.is_object());
}

} // namespace
