// `batchproc bench`: runs one config in several modes x worker counts (x start methods),
// times each row, and checks that every row produces what the serial run produces.
//
// bench_runner.cpp runs the rows (run_bench); bench_output.cpp turns rows into the table,
// JSON, CSV and SVG (pure functions); bench_compare.cpp fingerprints a run's jobs (output
// bytes, metrics, status) and finds the first difference between two runs.
#pragma once

#include "engine/job_record.hpp"
#include "inputs/job_plan.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace batchproc {

struct BenchOptions {
    std::string config;
    std::vector<std::string> modes;         // empty: serial, threads, processes
    std::vector<int> workers;               // empty: 1, 2, 4
    std::vector<std::string> start_methods; // empty: the config's
    int repeat = 3;                         // timed runs per row, after one warm-up
    std::string json, csv, plot;            // "" = not written
    std::vector<std::string> sets;          // --set overrides, applied to every run
};

// Runs the bench; prints the table to stdout. Exit code: 0 all rows match the serial run
// and every job was ok; 1 a row's outputs or metrics differ from serial's, or some jobs
// failed; 2 bad options or config; 3 a result file cannot be written; 130 interrupted.
int run_bench(const BenchOptions &options);

struct WallStats {
    double median = 0, min = 0, max = 0;
};
// Median (mean of the two middle values for an even count), min and max; zeros when empty.
WallStats wall_stats(std::vector<double> samples);

double bench_speedup(double serial_median_s, double row_median_s); // 0 when row_median_s <= 0
double bench_efficiency(double speedup, int workers);              // speedup / workers

struct BenchRow {
    std::string mode; // serial | threads | processes
    int workers = 1;
    std::string start_method; // "" for serial and threads
    bool requested = true;    // false: serial ran only as the reference (not in --modes)
    size_t jobs = 0;
    std::vector<double> wall_s; // the timed runs (the warm-up excluded)
    WallStats wall;
    double jobs_per_s = 0;
    double speedup = 0;
    double efficiency = 0;
    size_t failed = 0;         // jobs not ok, in the worst run of the row (warm-up included)
    bool outputs_match = true; // every run of the row equals the serial reference
    std::string mismatch;      // the first difference found ("" when none)
};

// Fills wall, jobs_per_s, speedup and efficiency of every row from wall_s and jobs; the
// serial row (mode "serial") is the reference for speedup. Without a serial row (or with
// no timings) speedup and efficiency stay 0.
void finish_rows(std::vector<BenchRow> &rows);

// "processes, 2 workers, forkserver" / "serial, 1 worker".
std::string row_label(const BenchRow &row);

// The table: a header line and one line per row (every row, the reference included).
std::string format_table(const std::vector<BenchRow> &rows);
// One loud line per row whose outputs differ from serial's ("" when all match).
std::string format_mismatches(const std::vector<BenchRow> &rows);

// {"rows": [...]}: one object per requested row with exactly the contract's keys (mode,
// workers, start_method, wall_s {median, min, max}, jobs_per_s, speedup, efficiency,
// outputs_match).
nlohmann::ordered_json rows_json(const std::vector<BenchRow> &rows);
// The requested rows as CSV, with a header line.
std::string rows_csv(const std::vector<BenchRow> &rows);
// Speedup against workers: one polyline (with markers) per mode / start method, the ideal
// line (speedup = workers) dashed, axes with ticks and labels, a legend.
std::string speedup_svg(const std::vector<BenchRow> &rows, const std::string &title);

// ---- comparing runs ----

// 64-bit FNV-1a; `hash` continues a previous call's result.
uint64_t fnv1a64(const void *data, size_t size, uint64_t hash = 14695981039346656037ull);

struct JobFingerprint {
    std::string job;    // the job's display name ("a.jpg", "#3")
    std::string status; // ok | failed | ...
    std::string output; // output path relative to the run's output folder; "" when none
    bool output_exists = false;
    uint64_t output_size = 0;
    uint64_t output_hash = 0; // FNV-1a of the bytes
    nlohmann::json metrics;   // parsed metrics (an object)
};

// One fingerprint per job: status, metrics, and the output file's size and hash (read from
// disk; the output path is taken relative to `output_dir`).
std::vector<JobFingerprint> fingerprint_jobs(const std::vector<PlannedJob> &jobs, const std::vector<JobRecord> &records,
                                             const std::filesystem::path &output_dir);

// "" when the runs agree; otherwise a sentence naming the first differing job and what
// differs (status, output bytes or presence, a metric's value).
std::string first_difference(const std::vector<JobFingerprint> &reference, const std::vector<JobFingerprint> &run);

} // namespace batchproc
