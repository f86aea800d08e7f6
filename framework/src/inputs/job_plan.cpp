#include "inputs/job_plan.hpp"
#include "config/text.hpp"

#include "config/suggest.hpp"
#include "io/path_safety.hpp"

#include <algorithm>
#include <set>
#include <unordered_map>
#include <utility>

namespace batchproc {

namespace fs = std::filesystem;

namespace {

const char *const placeholder_names[] = {"stem", "name", "ext", "src_ext", "rel_dir", "index"};

struct Piece {
    enum Kind { text, stem, name, ext, src_ext, rel_dir, index } kind = text;
    std::string literal; // text
    int width = 0;       // index: zero-pad to this many digits (0 = no padding)
};

// Where a name template was given: output.name, or an output stage's own name parameter.
struct NameSite {
    SourceMark mark;
    std::string key;
};

ConfigError name_error(const NameSite &site, const std::string &message) {
    return ConfigError(site.mark, site.key, message);
}

std::string in_quotes(const std::string &s) { return "\"" + s + "\""; }

Piece parse_placeholder(const std::string &tmpl, const std::string &body, const NameSite &mark) {
    const size_t colon = body.find(':');
    const std::string key = body.substr(0, colon);
    Piece piece;
    if (key == "stem") piece.kind = Piece::stem;
    else if (key == "name") piece.kind = Piece::name;
    else if (key == "ext") piece.kind = Piece::ext;
    else if (key == "src_ext") piece.kind = Piece::src_ext;
    else if (key == "rel_dir") piece.kind = Piece::rel_dir;
    else if (key == "index") piece.kind = Piece::index;
    else {
        std::vector<std::string> candidates;
        for (const char *n : placeholder_names) candidates.push_back(std::string("{") + n + "}");
        throw name_error(mark, "unknown placeholder {" + body + "} in " + in_quotes(tmpl) +
                                   did_you_mean("{" + body + "}", candidates) +
                                   "; the placeholders are {stem} {name} {ext} {src_ext} {rel_dir} {index}");
    }
    if (colon == std::string::npos) return piece;
    const std::string format = body.substr(colon + 1);
    if (piece.kind != Piece::index)
        throw name_error(mark, "{" + body + "} in " + in_quotes(tmpl) + ": only {index} takes a format ({index:05})");
    // Only zero padding: a space- or sign-padded number has no place in a file name.
    const bool digits = format.size() >= 2 && format.size() <= 3 && format[0] == '0' &&
                        format.find_first_not_of("0123456789") == std::string::npos;
    const int width = digits ? std::stoi(format.substr(1)) : 0;
    if (width < 1 || width > 20)
        throw name_error(mark, "{" + body + "} in " + in_quotes(tmpl) +
                                   ": the index format is 0 and a width from 1 to 20, as in {index:05}");
    piece.width = width;
    return piece;
}

std::vector<Piece> parse_name(const std::string &tmpl, const NameSite &mark) {
    std::vector<Piece> pieces;
    const auto add_text = [&](char c) {
        if (pieces.empty() || pieces.back().kind != Piece::text) pieces.push_back({});
        pieces.back().literal += c;
    };
    for (size_t i = 0; i < tmpl.size(); ++i) {
        const char c = tmpl[i];
        if (c == '{') {
            if (i + 1 < tmpl.size() && tmpl[i + 1] == '{') {
                add_text('{');
                ++i;
                continue;
            }
            const size_t close = tmpl.find_first_of("{}", i + 1);
            if (close == std::string::npos || tmpl[close] == '{')
                throw name_error(mark, "unclosed '{' at character " + std::to_string(i + 1) + " of " + in_quotes(tmpl) +
                                           " (write {{ for a literal brace)");
            pieces.push_back(parse_placeholder(tmpl, tmpl.substr(i + 1, close - i - 1), mark));
            i = close;
        } else if (c == '}') {
            if (i + 1 < tmpl.size() && tmpl[i + 1] == '}') {
                add_text('}');
                ++i;
                continue;
            }
            throw name_error(mark, "single '}' at character " + std::to_string(i + 1) + " of " + in_quotes(tmpl) +
                                       " (write }} for a literal brace)");
        } else {
            add_text(c);
        }
    }
    return pieces;
}

std::string format_index(int64_t index, int width) {
    std::string digits = std::to_string(index);
    if (static_cast<int>(digits.size()) < width) digits.insert(0, static_cast<size_t>(width) - digits.size(), '0');
    return digits;
}

std::string expand(const std::vector<Piece> &pieces, const OutputNameFields &f) {
    std::string out;
    bool after_empty = false; // the last piece was a placeholder that expanded to nothing
    for (const Piece &p : pieces) {
        std::string value;
        switch (p.kind) {
        case Piece::text: {
            std::string_view text = p.literal;
            // "{rel_dir}/x" at the root, or "a/{rel_dir}/x": the empty folder takes its '/' along.
            if (after_empty && text.front() == '/' && (out.empty() || out.back() == '/')) text.remove_prefix(1);
            out += text;
            after_empty = false;
            continue;
        }
        case Piece::stem: value = f.stem; break;
        case Piece::name: value = f.name; break;
        case Piece::ext:
        case Piece::src_ext:
            value = p.kind == Piece::ext ? f.ext : f.src_ext;
            // "{stem}.{ext}" for a file with no extension: "README", not "README.".
            if (value.empty() && !out.empty() && out.back() == '.') out.pop_back();
            break;
        case Piece::rel_dir: value = f.rel_dir; break;
        case Piece::index: value = format_index(f.index, p.width); break;
        }
        out += value;
        if (value.empty()) after_empty = true;
        else after_empty = false;
    }
    // "{stem}/{rel_dir}" at the root: no trailing '/'.
    if (after_empty && !out.empty() && out.back() == '/') out.pop_back();
    return out;
}

std::string clean_ext(const std::string &ext) {
    return lower_ascii(!ext.empty() && ext.front() == '.' ? ext.substr(1) : ext);
}

} // namespace

std::string display_path(const fs::path &p, const fs::path &base) {
    if (!base.empty()) {
        const fs::path rel = p.lexically_relative(base);
        if (!rel.empty() && *rel.begin() != ".." && rel != ".") return rel.generic_string();
    }
    return p.string();
}

fs::path display_base(const RunSpec &spec) {
    const fs::path &base = spec.display_base.empty() ? spec.base_dir : spec.display_base;
    return base.empty() ? fs::path() : normal_absolute(base);
}

std::string expand_output_name(const std::string &tmpl, const OutputNameFields &fields) {
    return expand(parse_name(tmpl, NameSite{SourceMark{}, "output.name"}), fields);
}

namespace {

// What the lexical checks cannot see: symbolic links. A folder inside output.dir that is a
// link could send outputs anywhere, and an output path that reaches an input through a link
// (output.dir a link to the input folder, say) would replace it.
void check_outputs_after_links(const RunSpec &spec, const std::vector<PlannedJob> &jobs,
                               const std::vector<InputFile> &files, const fs::path &out_dir,
                               const std::vector<NameSite> &sites) {
    const SourceMark dir_mark = spec.output.mark.file.empty() ? SourceMark{spec.config_path.string(), 0, 0}
                                                              : spec.output.mark;
    const fs::path base = display_base(spec);
    std::set<fs::path> folders_checked;
    for (const PlannedJob &job : jobs)
        for (const fs::path &output : job.outputs) {
            const fs::path folder = output.parent_path();
            if (!folders_checked.insert(folder).second) continue;
            if (const auto link = first_link_below(out_dir, folder))
                throw ConfigError(dir_mark, "output.dir",
                                  "the output of " + in_quotes(job.display) + " would go through " +
                                      in_quotes(display_path(*link, base)) + ", a symbolic link to " +
                                      in_quotes(resolve_links(*link).string()) +
                                      "; outputs are written only into real folders inside output.dir (output.dir "
                                      "itself may be a link): replace the link with a folder");
        }
    std::unordered_map<FileId, size_t, FileIdHash> input_of;
    for (size_t k = 0; k < files.size(); ++k)
        if (files[k].ino != 0) input_of.emplace(FileId{files[k].dev, files[k].ino}, k);
    if (input_of.empty()) return;
    for (const PlannedJob &job : jobs)
        for (size_t o = 0; o < job.outputs.size(); ++o) {
            const std::optional<FileId> id = file_id(job.outputs[o]);
            if (!id) continue;
            const auto in = input_of.find(*id);
            if (in == input_of.end()) continue;
            throw name_error(sites[o], "the output of " + in_quotes(job.display) + ", " +
                                           in_quotes(display_path(job.outputs[o], base)) + ", is the input file " +
                                           in_quotes(jobs[in->second].display) +
                                           " (the same file through a symbolic link or another name); writing it "
                                           "would destroy that input: choose another output.dir or name");
        }
}

} // namespace

std::vector<PlannedJob> plan_jobs(const RunSpec &spec, const std::vector<InputFile> &files,
                                  const std::vector<OutputSlot> &slots) {
    // Every template is parsed, output.name even when nothing is written: a malformed name
    // is a malformed config.
    const NameSite config_site{spec.output.name_mark, "output.name"};
    const std::vector<Piece> config_pieces = parse_name(spec.output.name, config_site);
    std::vector<NameSite> sites;
    std::vector<std::vector<Piece>> pieces;
    std::vector<std::string> templates;
    for (const OutputSlot &slot : slots) {
        const bool own = !slot.name.empty();
        sites.push_back(own ? NameSite{slot.name_mark, slot.name_key} : config_site);
        templates.push_back(own ? slot.name : spec.output.name);
        pieces.push_back(own ? parse_name(slot.name, sites.back()) : config_pieces);
    }
    const auto check_relative = [](const std::vector<Piece> &p, const NameSite &site, const std::string &tmpl) {
        if (!p.empty() && p.front().kind == Piece::text && p.front().literal.front() == '/')
            throw name_error(site, in_quotes(tmpl) + " is an absolute path; a name must be relative to output.dir");
    };
    check_relative(config_pieces, config_site, spec.output.name);
    for (size_t o = 0; o < slots.size(); ++o) check_relative(pieces[o], sites[o], templates[o]);
    const bool writes_output = !slots.empty();
    if (writes_output && spec.output.dir.empty()) {
        const SourceMark dir_mark = spec.output.mark.file.empty() ? SourceMark{spec.config_path.string(), 0, 0}
                                                                  : spec.output.mark;
        throw ConfigError(dir_mark, "output.dir", "the pipeline writes files but the config sets no output.dir");
    }

    const fs::path base = display_base(spec);
    const fs::path out_dir = writes_output ? normal_absolute(spec.output.dir) : fs::path();

    std::vector<PlannedJob> jobs;
    if (spec.input.generate_count) {
        const int64_t count = std::max<int64_t>(0, *spec.input.generate_count);
        jobs.reserve(static_cast<size_t>(count));
        for (int64_t i = 0; i < count; ++i) {
            std::string key = "#" + std::to_string(i);
            jobs.push_back({i, fs::path(), key, {}, key});
        }
    } else {
        jobs.reserve(files.size());
        for (size_t k = 0; k < files.size(); ++k) {
            const fs::path &in = files[k].path;
            std::string key = files[k].rel_dir.empty() ? in.filename().string() : files[k].rel_dir + "/" + in.filename().string();
            if (spec.input.paths.size() > 1) key = std::to_string(files[k].root_index) + ":" + key;
            jobs.push_back({static_cast<int64_t>(k), in, display_path(in, base), {}, std::move(key)});
        }
    }
    if (!writes_output) return jobs;

    std::unordered_map<std::string, size_t> input_of; // input path -> job
    for (size_t k = 0; k < jobs.size(); ++k)
        if (!jobs[k].input.empty()) input_of.emplace(jobs[k].input.lexically_normal().native(), k);

    struct Writer {
        size_t job, slot;
    };
    std::unordered_map<std::string, Writer> owner; // output path -> first output written there
    std::optional<std::pair<Writer, Writer>> first_clash;
    size_t clashes = 0;
    for (size_t k = 0; k < jobs.size(); ++k) {
        PlannedJob &job = jobs[k];
        job.outputs.reserve(slots.size());
        // The placeholders' values, made here rather than kept for every job (a million
        // generated jobs would hold them all).
        OutputNameFields f;
        f.index = job.index;
        if (spec.input.generate_count) {
            f.stem = "job" + std::to_string(job.index);
        } else {
            f.stem = job.input.stem().string();
            f.name = job.input.filename().string();
            f.src_ext = clean_ext(job.input.extension().string());
            f.rel_dir = files[k].rel_dir;
        }
        for (size_t o = 0; o < slots.size(); ++o) {
            if (spec.input.generate_count) {
                f.ext = slots[o].ext ? clean_ext(*slots[o].ext) : "out";
                f.name = f.ext.empty() ? f.stem : f.stem + "." + f.ext;
            } else {
                f.ext = slots[o].ext ? clean_ext(*slots[o].ext) : f.src_ext;
            }
            const NameSite &site = sites[o];
            const std::string name = expand(pieces[o], f);
            const std::string gives =
                in_quotes(templates[o]) + " gives " + in_quotes(name) + " for " + in_quotes(job.display);
            if (name.empty())
                throw name_error(site, in_quotes(templates[o]) + " gives an empty name for " + in_quotes(job.display));
            if (name.front() == '/')
                throw name_error(site, gives + ", an absolute path; a name must be relative to output.dir");
            const fs::path normal = fs::path(name).lexically_normal();
            if (*normal.begin() == "..")
                throw name_error(site, gives + ", which is outside output.dir " + in_quotes(out_dir.string()));
            const fs::path leaf = normal.filename();
            if (leaf.empty() || leaf == "." || leaf == "..")
                throw name_error(site, gives + ", which names a folder, not a file");
            job.outputs.push_back(out_dir / normal);

            const std::string key = job.outputs.back().native();
            if (const auto in = input_of.find(key); in != input_of.end()) {
                if (in->second == k)
                    throw name_error(site, "the output of " + in_quotes(job.display) +
                                               " is the input file itself; choose another output.dir or name");
                throw name_error(site, "the output of " + in_quotes(job.display) + " would replace " +
                                           in_quotes(jobs[in->second].display) +
                                           ", another input; choose another output.dir or name");
            }
            const auto [it, fresh] = owner.emplace(key, Writer{k, o});
            if (!fresh) {
                ++clashes;
                if (!first_clash) first_clash = std::make_pair(it->second, Writer{k, o});
            }
        }
    }
    if (first_clash) {
        const auto [a, b] = *first_clash;
        const PlannedJob &ja = jobs[a.job];
        const PlannedJob &jb = jobs[b.job];
        const std::string where = display_path(ja.outputs[a.slot], base);
        std::string message;
        if (a.job == b.job) {
            message = "two outputs of " + in_quotes(ja.display) + " (" + slots[a.slot].stage_key + " and " +
                      slots[b.slot].stage_key + ") both go to " + in_quotes(where);
        } else {
            message = (spec.input.generate_count ? "jobs " : "inputs ") + in_quotes(ja.display) + " and " +
                      in_quotes(jb.display) + " both map to output " + in_quotes(where);
        }
        if (clashes > 1) message += " (and " + std::to_string(clashes - 1) + " more outputs go to a path already taken)";
        message += a.job == b.job ? "; give each output stage its own name (save: {name: \"web/{stem}.{ext}\"})"
                                  : "; put {rel_dir}, {name} or {index} in the name to tell them apart";
        throw name_error(sites[b.slot], message);
    }
    check_outputs_after_links(spec, jobs, spec.input.generate_count ? std::vector<InputFile>{} : files, out_dir, sites);
    return jobs;
}

std::vector<PlannedJob> plan_jobs(const RunSpec &spec, const std::vector<InputFile> &files, bool writes_output,
                                  const std::optional<std::string> &output_ext) {
    std::vector<OutputSlot> slots;
    if (writes_output) slots.push_back(OutputSlot{0, output_ext, "", {}, "", ""});
    return plan_jobs(spec, files, slots);
}

} // namespace batchproc
