#include "inputs/input_scan.hpp"

#include "inputs/glob.hpp"
#include "inputs/input_list.hpp"
#include "inputs/image_formats.hpp"
#include "io/path_safety.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <utility>

namespace batchproc {

namespace fs = std::filesystem;

namespace {

using FileId = std::pair<dev_t, ino_t>;

struct Found {
    fs::path path;
    std::string rel_dir;
    std::string rel_path; // the sort key
    FileId id;
};

class Walker {
public:
    explicit Walker(const InputSpec &spec) : spec_(spec) {}

    std::vector<InputFile> run() {
        std::vector<InputFile> result;
        std::set<FileId> taken; // real files already in the result
        for (size_t i = 0; i < spec_.paths.size(); ++i) {
            const std::string key = "input.paths[" + std::to_string(i) + "]";
            const fs::path root = normal_absolute(spec_.paths[i]);
            std::vector<Found> found;
            struct stat st {};
            if (::stat(root.c_str(), &st) != 0) {
                const int err = errno;
                struct stat lst {};
                if ((err == ENOENT || err == ENOTDIR) && ::lstat(root.c_str(), &lst) == 0)
                    throw ConfigError(spec_.mark, key, "\"" + root.string() + "\" is a broken symbolic link");
                if (err == ENOENT || err == ENOTDIR)
                    throw ConfigError(spec_.mark, key, "\"" + root.string() + "\" does not exist");
                throw ConfigError(spec_.mark, key, "\"" + root.string() + "\" cannot be read: " + std::strerror(err));
            }
            if (S_ISREG(st.st_mode)) {
                found.push_back({root, "", "", {st.st_dev, st.st_ino}});
            } else if (S_ISDIR(st.st_mode)) {
                // The same folder given twice (or a folder inside one already walked) adds nothing.
                if (visited_dirs_.insert({st.st_dev, st.st_ino}).second) {
                    std::error_code ec;
                    fs::directory_iterator probe(root, ec);
                    if (ec)
                        throw ConfigError(spec_.mark, key, "\"" + root.string() + "\" cannot be read: " + ec.message());
                    walk(root, "", found);
                }
                // byte order of the relative path: std::string compares as unsigned char
                std::sort(found.begin(), found.end(),
                          [](const Found &a, const Found &b) { return a.rel_path < b.rel_path; });
            } else {
                throw ConfigError(spec_.mark, key, "\"" + root.string() + "\" is neither a file nor a folder");
            }
            for (Found &f : found) {
                if (!taken.insert(f.id).second) continue;
                result.push_back({std::move(f.path), root, std::move(f.rel_dir), static_cast<uint64_t>(f.id.first),
                                  static_cast<uint64_t>(f.id.second), i});
            }
        }
        report_skipped_types();
        return result;
    }

private:
    static std::string lower_extension(const fs::path &name) {
        std::string ext = name.extension().string();
        for (char &c : ext) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        return ext.empty() ? "(no extension)" : ext;
    }

    // "skipped 12 files of other types: 10 .nef, 2 .heic": the files in the folders that the
    // include filter (or the default formats) left out, so that none goes missing unseen.
    void report_skipped_types() const {
        if (!special_.empty()) {
            std::string list;
            for (size_t k = 0; k < special_.size() && k < 5; ++k) list += (k ? ", " : "") + special_[k];
            if (special_.size() > 5) list += ", ...";
            spdlog::warn("skipped {} entr{} that {} not a regular file (a FIFO, device or socket): {}", special_.size(),
                         special_.size() == 1 ? "y" : "ies", special_.size() == 1 ? "is" : "are", list);
        }
        if (skipped_types_.empty()) return;
        std::vector<std::pair<size_t, std::string>> by_count;
        size_t total = 0;
        for (const auto &[ext, n] : skipped_types_) {
            by_count.push_back({n, ext});
            total += n;
        }
        std::sort(by_count.begin(), by_count.end(), [](const auto &a, const auto &b) {
            return a.first != b.first ? a.first > b.first : a.second < b.second;
        });
        std::string list;
        for (size_t k = 0; k < by_count.size() && k < 8; ++k)
            list += (list.empty() ? "" : ", ") + std::to_string(by_count[k].first) + " " + by_count[k].second;
        if (by_count.size() > 8) list += ", ...";
        spdlog::info("skipped {} file(s) of other types: {} ({})", total, list,
                     spec_.include.empty() ? "not image formats batchproc reads" : "not matched by input.include");
    }

    bool excluded(const std::string &rel_path) const {
        return std::any_of(spec_.exclude.begin(), spec_.exclude.end(),
                           [&](const std::string &p) { return glob_match_entry(p, rel_path); });
    }

    bool selected(const std::string &rel_path, const fs::path &name) const {
        if (excluded(rel_path)) return false;
        if (spec_.include.empty()) return is_readable_extension(name.extension().native());
        return std::any_of(spec_.include.begin(), spec_.include.end(),
                           [&](const std::string &p) { return glob_match_entry(p, rel_path); });
    }

    void walk(const fs::path &dir, const std::string &rel_dir, std::vector<Found> &found) {
        std::vector<fs::path> entries;
        std::error_code ec;
        fs::directory_iterator it(dir, ec);
        for (; !ec && it != fs::directory_iterator(); it.increment(ec)) entries.push_back(it->path());
        if (ec) {
            // Partial listings are dropped: a folder is either taken whole or not at all.
            spdlog::warn("skipping folder \"{}\": {}", dir.string(), ec.message());
            return;
        }
        // Name order makes "the first path a real folder is reached by" deterministic.
        std::sort(entries.begin(), entries.end(),
                  [](const fs::path &a, const fs::path &b) { return a.filename().native() < b.filename().native(); });

        for (const fs::path &entry : entries) {
            const std::string name = entry.filename().native();
            if (name.empty() || name.front() == '.') continue;
            const std::string rel_path = rel_dir.empty() ? name : rel_dir + "/" + name;
            struct stat st {};
            if (::stat(entry.c_str(), &st) != 0) continue; // broken symlink, or gone since listed
            if (S_ISDIR(st.st_mode)) {
                if (!spec_.recursive || excluded(rel_path)) continue;
                if (!visited_dirs_.insert({st.st_dev, st.st_ino}).second) continue;
                walk(entry, rel_path, found);
            } else if (S_ISREG(st.st_mode)) {
                if (selected(rel_path, entry.filename()))
                    found.push_back({entry, rel_dir, rel_path, {st.st_dev, st.st_ino}});
                else if (!excluded(rel_path))
                    ++skipped_types_[lower_extension(entry.filename())];
            } else if (!excluded(rel_path)) {
                special_.push_back(rel_path); // a FIFO, device or socket: never read
            }
        }
    }

    const InputSpec &spec_;
    std::set<FileId> visited_dirs_;
    std::map<std::string, size_t> skipped_types_; // by lower-case extension
    std::vector<std::string> special_;             // entries that are not files or folders
};

} // namespace

std::vector<InputFile> scan_inputs(const InputSpec &spec) {
    if (!spec.list.empty()) return read_input_list(spec);
    return Walker(spec).run();
}

} // namespace batchproc
