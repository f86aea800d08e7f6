// Fingerprints of a run's jobs (status, output bytes, metrics) and their comparison.
#include "bench/bench.hpp"

#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <set>

namespace fs = std::filesystem;

namespace batchproc {

uint64_t fnv1a64(const void *data, size_t size, uint64_t hash) {
    const auto *p = static_cast<const unsigned char *>(data);
    for (size_t i = 0; i < size; ++i) {
        hash ^= p[i];
        hash *= 1099511628211ull;
    }
    return hash;
}

namespace {

// Size and FNV-1a hash of a file's bytes; false when it cannot be read.
bool hash_file(const fs::path &path, uint64_t &size, uint64_t &hash) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    std::vector<char> buf(1 << 16);
    size = 0;
    hash = 14695981039346656037ull;
    while (in) {
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        const std::streamsize n = in.gcount();
        if (n <= 0) break;
        hash = fnv1a64(buf.data(), static_cast<size_t>(n), hash);
        size += static_cast<uint64_t>(n);
    }
    return !in.bad();
}

std::string hex(uint64_t v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
    return buf;
}

std::string shorten(const std::string &text, size_t max = 80) {
    return text.size() <= max ? text : text.substr(0, max - 3) + "...";
}

std::string describe_output(const JobFingerprint &f) {
    if (!f.output_exists) return "missing";
    return std::to_string(f.output_size) + " bytes, fnv1a " + hex(f.output_hash);
}

// The first metric that differs between two metric objects ("" when none).
std::string metric_difference(const nlohmann::json &ref, const nlohmann::json &run) {
    if (!ref.is_object() || !run.is_object()) {
        if (ref == run) return "";
        return "metrics differ: serial " + shorten(ref.dump()) + ", this row " + shorten(run.dump());
    }
    std::set<std::string> keys;
    for (auto it = ref.begin(); it != ref.end(); ++it) keys.insert(it.key());
    for (auto it = run.begin(); it != run.end(); ++it) keys.insert(it.key());
    for (const std::string &key : keys) {
        const bool in_ref = ref.contains(key), in_run = run.contains(key);
        if (in_ref && in_run && ref.at(key) == run.at(key)) continue;
        const std::string a = in_ref ? shorten(ref.at(key).dump()) : "(absent)";
        const std::string b = in_run ? shorten(run.at(key).dump()) : "(absent)";
        return "metric \"" + key + "\" differs: serial " + a + ", this row " + b;
    }
    return "";
}

} // namespace

std::vector<JobFingerprint> fingerprint_jobs(const std::vector<PlannedJob> &jobs, const std::vector<JobRecord> &records,
                                             const fs::path &output_dir) {
    std::vector<JobFingerprint> out;
    out.reserve(jobs.size());
    for (size_t i = 0; i < jobs.size(); ++i) {
        const PlannedJob &job = jobs[i];
        const JobRecord &r = i < records.size() ? records[i] : JobRecord{};
        JobFingerprint f;
        f.job = job.display;
        f.status = to_string(r.status);
        f.metrics = nlohmann::json::parse(r.metrics_json, nullptr, false);
        if (f.metrics.is_discarded()) f.metrics = nlohmann::json::object();
        // Several outputs fold into one fingerprint: their names, total size and a hash of hashes.
        f.output_exists = !job.outputs.empty();
        for (const fs::path &output : job.outputs) {
            const fs::path rel = output.lexically_relative(output_dir);
            f.output += (f.output.empty() ? "" : ", ") + (rel.empty() ? output.generic_string() : rel.generic_string());
            uint64_t size = 0, hash = 0;
            f.output_exists = hash_file(output, size, hash) && f.output_exists;
            f.output_size += size;
            f.output_hash = job.outputs.size() == 1 ? hash
                            : fnv1a64(&hash, sizeof hash, f.output_hash == 0 ? 14695981039346656037ull : f.output_hash);
        }
        out.push_back(std::move(f));
    }
    return out;
}

std::string first_difference(const std::vector<JobFingerprint> &reference, const std::vector<JobFingerprint> &run) {
    if (reference.size() != run.size())
        return "the job count differs: serial " + std::to_string(reference.size()) + ", this row " +
               std::to_string(run.size());
    for (size_t i = 0; i < reference.size(); ++i) {
        const JobFingerprint &a = reference[i];
        const JobFingerprint &b = run[i];
        const std::string job = "job " + a.job;
        if (a.job != b.job) return "job " + std::to_string(i) + " is " + a.job + " in serial but " + b.job + " here";
        if (a.status != b.status) return job + ": status differs: serial " + a.status + ", this row " + b.status;
        if (a.output != b.output) return job + ": output name differs: serial " + a.output + ", this row " + b.output;
        if (a.output_exists != b.output_exists || a.output_size != b.output_size || a.output_hash != b.output_hash)
            return job + ": output " + a.output + " differs: serial " + describe_output(a) + ", this row " +
                   describe_output(b);
        const std::string m = metric_difference(a.metrics, b.metrics);
        if (!m.empty()) return job + ": " + m;
    }
    return "";
}

} // namespace batchproc
