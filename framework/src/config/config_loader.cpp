#include "config/config_loader.hpp"
#include "io/path_safety.hpp"
#include "config/text.hpp"

#include "config/suggest.hpp"
#include "config/units.hpp"

#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>

namespace batchproc {

namespace fs = std::filesystem;

namespace {

const char *const kSetFile = "--set";

SourceMark set_mark() { return SourceMark{kSetFile, 0, 0}; }

[[noreturn]] void fail(const SourceMark &mark, const std::string &key, const std::string &message) {
    throw ConfigError(mark, key, message);
}

std::string join(const std::vector<std::string> &words, const char *sep = ", ") {
    std::string out;
    for (const std::string &w : words) out += (out.empty() ? "" : sep) + w;
    return out;
}

// Strict decimal integer: the whole text, an optional sign, nothing else.
bool parse_int64(const std::string &text, int64_t &out) {
    const char *first = text.data();
    const char *last = text.data() + text.size();
    if (first != last && *first == '+') ++first;
    if (first == last) return false;
    const auto [ptr, ec] = std::from_chars(first, last, out);
    return ec == std::errc() && ptr == last;
}

bool looks_numeric(const std::string &text) {
    if (text.empty()) return false;
    char *end = nullptr;
    errno = 0;
    std::strtod(text.c_str(), &end);
    return end == text.c_str() + text.size() && !std::isspace(static_cast<unsigned char>(text[0]));
}

// What a value is, for "got ..." in messages: -3, "abc", a list, a mapping, nothing.
std::string describe(const YAML::Node &node) {
    if (!node.IsDefined() || node.IsNull()) return "nothing";
    if (node.IsSequence()) return "a list";
    if (node.IsMap()) return "a mapping";
    std::string text = node.Scalar();
    if (text.size() > 60) text = text.substr(0, 57) + "...";
    if (looks_numeric(text)) return text;
    return "\"" + text + "\"";
}

// ---- --set overrides --------------------------------------------------------------------

struct KeyPart {
    std::string name; // a mapping key, or empty for an index
    size_t index = 0;
    bool is_index = false;
};

struct Override {
    std::string key;       // as typed
    std::string canonical; // "pipeline[0].resize.max_side": the form the validator builds keys in
    std::vector<KeyPart> parts;
    YAML::Node value;
};

std::string canonical_key(const std::vector<KeyPart> &parts) {
    std::string out;
    for (const KeyPart &p : parts) {
        if (p.is_index) out += "[" + std::to_string(p.index) + "]";
        else out += (out.empty() ? "" : ".") + p.name;
    }
    return out;
}

// key := name ("[" digits "]")* ("." name ("[" digits "]")*)*
std::vector<KeyPart> parse_override_key(const std::string &key) {
    const std::string forms = "write a dotted key such as pool.workers or pipeline[0].resize.max_side";
    std::vector<KeyPart> parts;
    size_t pos = 0;
    while (true) {
        const size_t start = pos;
        while (pos < key.size() && key[pos] != '.' && key[pos] != '[' && key[pos] != ']') ++pos;
        if (pos == start) fail(set_mark(), key, "is not a valid key: a name is missing at position " +
                                                    std::to_string(start + 1) + "; " + forms);
        parts.push_back(KeyPart{key.substr(start, pos - start), 0, false});
        while (pos < key.size() && key[pos] == '[') {
            const size_t close = key.find(']', pos);
            const std::string digits = close == std::string::npos ? "" : key.substr(pos + 1, close - pos - 1);
            int64_t index = -1;
            if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos ||
                !parse_int64(digits, index))
                fail(set_mark(), key, "is not a valid key: a list index must be [N] with N a whole number >= 0; " + forms);
            parts.push_back(KeyPart{"", static_cast<size_t>(index), true});
            pos = close + 1;
        }
        if (pos == key.size()) break;
        if (key[pos] != '.') fail(set_mark(), key, "is not a valid key: unexpected \"" + std::string(1, key[pos]) + "\"; " + forms);
        ++pos;
    }
    return parts;
}

YAML::Node parse_override_value(const std::string &key, const std::string &canonical, const std::string &text) {
    const bool quoted = !text.empty() && (text[0] == '"' || text[0] == '\'');
    // A name template such as {stem}.png is not meant as YAML (it would read as a mapping).
    if (canonical == "output.name" && !quoted) return YAML::Node(text);
    try {
        return YAML::Load(text);
    } catch (const YAML::Exception &e) {
        // Unquoted globs and templates ("*.jpg", "{stem}_small.png") are not valid YAML but
        // clearly mean a string; a broken list or quoted string is a real mistake.
        if (!quoted && (text.empty() || text[0] != '[')) return YAML::Node(text);
        fail(set_mark(), key, "the value \"" + text + "\" is not valid YAML: " + e.msg);
    }
}

Override parse_override(const std::string &text) {
    const size_t eq = text.find('=');
    if (eq == std::string::npos)
        fail(set_mark(), trim(text), "\"" + text + "\" has no \"=\": write key=value, e.g. pool.workers=4");
    Override o;
    o.key = trim(text.substr(0, eq));
    if (o.key.empty()) fail(set_mark(), o.key, "\"" + text + "\" has no key before \"=\": write key=value, e.g. pool.workers=4");
    o.parts = parse_override_key(o.key);
    o.canonical = canonical_key(o.parts);
    o.value = parse_override_value(o.key, o.canonical, trim(text.substr(eq + 1)));
    return o;
}

// Writes the value into the tree, creating missing mappings on the way.
// Walks with Node::reset: assigning one Node to another would overwrite the first's content.
void apply_override(YAML::Node &root, const Override &o) {
    YAML::Node cur;
    cur.reset(root);
    std::string walked;
    for (size_t i = 0; i < o.parts.size(); ++i) {
        const KeyPart &p = o.parts[i];
        const bool last = i + 1 == o.parts.size();
        const std::string where = walked.empty() ? "the config" : walked;
        if (!p.is_index) {
            // operator[] would silently turn a list into a mapping; refuse instead.
            if (cur.IsScalar() || cur.IsSequence())
                fail(set_mark(), o.key, "cannot set \"" + p.name + "\": " + where + " is " + describe(cur) +
                                            ", not a mapping");
            if (last) {
                cur[p.name] = o.value;
                return;
            }
            YAML::Node next = cur[p.name];
            cur.reset(next);
            walked += (walked.empty() ? "" : ".") + p.name;
        } else {
            const bool empty = !cur.IsDefined() || cur.IsNull();
            if (!cur.IsSequence() && !empty)
                fail(set_mark(), o.key, "cannot index [" + std::to_string(p.index) + "]: " + where + " is " +
                                            describe(cur) + ", not a list");
            const size_t size = empty ? 0 : cur.size();
            if (p.index > size || (p.index == size && !last))
                fail(set_mark(), o.key, where + " has " + std::to_string(size) + " item" + (size == 1 ? "" : "s") +
                                            "; an index can be at most " + std::to_string(size) +
                                            " (which appends an item)");
            if (p.index == size) { // append: only as the last part, checked above
                cur.push_back(o.value);
                return;
            }
            if (last) {
                cur[p.index] = o.value;
                return;
            }
            YAML::Node next = cur[p.index];
            cur.reset(next);
            walked += "[" + std::to_string(p.index) + "]";
        }
    }
}

// ---- validation -------------------------------------------------------------------------

// A value to check, with the dotted key and place it is reported under.
struct Value {
    YAML::Node node;
    std::string key;
    SourceMark mark;
};

// One key of a mapping.
struct Entry {
    std::string name;
    YAML::Node key_node;
    Value value;
    SourceMark key_mark;
};

const std::vector<std::string> kTopKeys = {"plugins", "plugin_path", "input", "output",  "pool",
                                           "report",  "journal",     "resume", "pipeline"};
const std::vector<std::string> kResumeKeys = {"verify"};
const std::vector<std::string> kInputKeys = {"paths",          "list",       "list_nul", "include",        "exclude",
                                             "recursive",      "generate",   "exif_orientation", "max_pixels", "damaged",
                                             "shrink_on_load", "colour",     "max_decoded"};
const std::vector<std::string> kGenerateKeys = {"count"};
const std::vector<std::string> kOutputKeys = {"dir", "name", "overwrite", "durable", "metadata", "strip_gps"};
const std::vector<std::string> kPoolKeys = {"mode",    "workers",    "start_method",        "threads_per_worker", "timeout",
                                            "retries", "max_memory", "max_jobs_per_worker", "oversubscribe", "nice"};
const std::vector<std::string> kPlaceholders = {"stem", "name", "ext", "src_ext", "rel_dir", "index"};

class Validator {
public:
    Validator(std::string file, fs::path base_dir, std::vector<std::string> set_keys)
        : file_(std::move(file)), base_(std::move(base_dir)), set_keys_(std::move(set_keys)) {
        std::error_code ec;
        cwd_ = fs::current_path(ec);
        if (ec) cwd_ = base_;
    }

    void run(const YAML::Node &root, RunSpec &spec) const;

private:
    std::string file_;
    fs::path base_;
    fs::path cwd_;
    std::vector<std::string> set_keys_; // canonical keys given by --set

    // Whether `key` or one of its parents was set by an override.
    bool from_override(const std::string &key) const {
        for (const std::string &k : set_keys_) {
            if (key.compare(0, k.size(), k) != 0) continue;
            if (key.size() == k.size() || key[k.size()] == '.' || key[k.size()] == '[') return true;
        }
        return false;
    }

    SourceMark mark_at(const YAML::Node &node, const std::string &key) const {
        if (from_override(key)) return set_mark();
        const YAML::Mark m = node.Mark();
        // Only nodes built by apply_override (mappings it created) have no position.
        if (m.is_null()) return set_mark();
        return SourceMark{file_, m.line + 1, m.column + 1};
    }

    static std::string child(const std::string &path, const std::string &name) {
        return path.empty() ? name : path + "." + name;
    }

    std::vector<Entry> mapping(const Value &v, const std::vector<std::string> &allowed) const;
    static const Entry *find(const std::vector<Entry> &entries, const std::string &name) {
        for (const Entry &e : entries)
            if (e.name == name) return &e;
        return nullptr;
    }

    std::string scalar(const Value &v, const std::string &expected) const {
        if (!v.node.IsScalar()) fail(v.mark, v.key, "must be " + expected + ", got " + describe(v.node));
        return v.node.Scalar();
    }
    bool boolean(const Value &v) const;
    int64_t integer(const Value &v, int64_t min, int64_t max) const;
    std::string choice(const Value &v, const std::vector<std::string> &choices) const;
    std::vector<Value> list(const Value &v, const std::string &expected) const;
    std::string nonempty_string(const Value &v) const;
    fs::path path(const Value &v) const;
    fs::path resolve(const std::string &text, bool from_cwd) const;

    void plugins(const Entry *e, RunSpec &spec) const;
    void input(const Entry *e, const SourceMark &root_mark, InputSpec &in) const;
    void output(const Entry &e, OutputSpec &out) const;
    void name_template(const Value &v) const;
    void pool(const Entry &e, PoolSpec &pool) const;
    void journal(const Entry &e, JournalSpec &journal) const;
    void resume(const Entry &e, ResumeSpec &resume) const;
    void pipeline(const Entry *e, const SourceMark &root_mark, std::vector<StageSpec> &stages) const;
};

std::vector<Entry> Validator::mapping(const Value &v, const std::vector<std::string> &allowed) const {
    std::vector<Entry> entries;
    if (!v.node.IsDefined() || v.node.IsNull()) return entries; // "pool:" with nothing under it
    if (!v.node.IsMap())
        fail(v.mark, v.key, "must be a mapping of keys (" + join(allowed) + "), got " + describe(v.node));
    for (auto it = v.node.begin(); it != v.node.end(); ++it) {
        // By value: the iterator hands out a temporary proxy, so a reference to its members
        // would dangle after this statement. A Node copy only shares the underlying data.
        const YAML::Node k = it->first;
        const YAML::Node val = it->second;
        if (!k.IsScalar()) fail(mark_at(k, v.key), v.key, "a key must be a name, got " + describe(k));
        const std::string name = k.Scalar();
        const std::string key = child(v.key, name);
        const SourceMark key_mark = mark_at(k, key);
        if (const Entry *first = find(entries, name))
            fail(key_mark, key, "is given twice (first at " + first->key_mark.to_string() + "); keep one");
        if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
            const std::string hint = did_you_mean(name, allowed);
            fail(key_mark, key, "unknown key \"" + name + "\"" + (hint.empty() ? "; valid keys: " + join(allowed) : hint));
        }
        // A missing value ("workers:") has the position of whatever follows; point at its key.
        const SourceMark value_mark = val.IsNull() ? key_mark : mark_at(val, key);
        entries.push_back(Entry{name, k, Value{val, key, value_mark}, key_mark});
    }
    return entries;
}

// The YAML words for true and false; nullopt for any other text.
std::optional<bool> bool_word(const std::string &text) {
    const std::string t = lower_ascii(text);
    if (t == "true" || t == "yes" || t == "on") return true;
    if (t == "false" || t == "no" || t == "off") return false;
    return std::nullopt;
}

bool Validator::boolean(const Value &v) const {
    if (const std::optional<bool> b = bool_word(scalar(v, "true or false"))) return *b;
    fail(v.mark, v.key, "must be true or false, got " + describe(v.node));
}

int64_t Validator::integer(const Value &v, int64_t min, int64_t max) const {
    std::string expected = "a whole number";
    if (min == 1) expected += " of at least 1";
    else if (min == 0) expected += " >= 0";
    const std::string text = scalar(v, expected);
    int64_t n = 0;
    if (!parse_int64(trim(text), n)) fail(v.mark, v.key, "must be " + expected + ", got " + describe(v.node));
    if (n < min || n > max)
        fail(v.mark, v.key, "must be " + expected + (n > max ? " and at most " + std::to_string(max) : "") +
                                ", got " + describe(v.node));
    return n;
}

std::string Validator::choice(const Value &v, const std::vector<std::string> &choices) const {
    const std::string expected = "one of " + join(choices);
    const std::string text = scalar(v, expected);
    if (std::find(choices.begin(), choices.end(), text) != choices.end()) return text;
    fail(v.mark, v.key, "must be " + expected + ", got " + describe(v.node) + did_you_mean(text, choices));
}

// A list, or a single scalar standing for a list of one.
std::vector<Value> Validator::list(const Value &v, const std::string &expected) const {
    std::vector<Value> items;
    if (v.node.IsScalar()) {
        items.push_back(v);
        return items;
    }
    if (!v.node.IsDefined() || v.node.IsNull()) return items;
    if (!v.node.IsSequence()) fail(v.mark, v.key, "must be " + expected + ", got " + describe(v.node));
    for (size_t i = 0; i < v.node.size(); ++i) {
        const std::string key = v.key + "[" + std::to_string(i) + "]";
        const YAML::Node item = v.node[i];
        // An empty item ("- ") has the position of what follows it; the list's own is closer.
        items.push_back(Value{item, key, item.IsNull() && !from_override(key) ? v.mark : mark_at(item, key)});
    }
    return items;
}

std::string Validator::nonempty_string(const Value &v) const {
    const std::string text = scalar(v, "a string");
    if (trim(text).empty()) fail(v.mark, v.key, "is empty");
    return text;
}

fs::path Validator::resolve(const std::string &text, bool from_cwd) const {
    fs::path p(text);
    if (text == "~" || text.rfind("~/", 0) == 0) {
        if (const char *home = std::getenv("HOME"); home != nullptr && *home != '\0')
            p = fs::path(home) / text.substr(text.size() > 1 ? 2 : 1);
    }
    // "photos/" and "photos" are one folder; a trailing separator would leak into relative names.
    return normal_absolute(p, from_cwd ? cwd_ : base_);
}

fs::path Validator::path(const Value &v) const {
    const std::string text = scalar(v, "a path");
    if (text.empty()) fail(v.mark, v.key, "is an empty path");
    // A path typed on the command line means what it means in the shell it was typed in.
    return resolve(text, from_override(v.key));
}

void Validator::plugins(const Entry *e, RunSpec &spec) const {
    if (e == nullptr) return;
    for (const Value &item : list(e->value, "a list of plugin names or .so paths")) {
        const std::string text = nonempty_string(item);
        const bool is_path = text.find('/') != std::string::npos ||
                             (text.size() > 3 && text.compare(text.size() - 3, 3, ".so") == 0);
        spec.plugins.push_back(PluginRef{is_path ? path(item).string() : text, item.mark});
    }
}

void Validator::input(const Entry *e, const SourceMark &root_mark, InputSpec &in) const {
    if (e == nullptr)
        fail(root_mark, "input",
             "is missing: add an input section with paths (files and folders to read) or generate: {count: N}");
    in.mark = e->key_mark;
    const std::vector<Entry> entries = mapping(e->value, kInputKeys);
    const Entry *paths = find(entries, "paths");
    const Entry *generate = find(entries, "generate");
    const Entry *list_entry = find(entries, "list");
    if (list_entry != nullptr) {
        // --files-from (an override) replaces the config's own inputs; in the config itself,
        // list is one way of naming them, like paths or generate.
        if (from_override(list_entry->value.key)) {
            paths = generate = nullptr;
        } else if (paths != nullptr || generate != nullptr) {
            const Entry *other = paths != nullptr ? paths : generate;
            fail(list_entry->key_mark, list_entry->value.key,
                 "cannot be used together with input." + other->name +
                     ": name the inputs one way (paths, list or generate)");
        }
        const std::string text = nonempty_string(list_entry->value);
        if (text == "-") {
            in.list = "-";
        } else {
            in.list = path(list_entry->value);
        }
        // Relative entries: from the current folder for --files-from, as xargs would take
        // them; from the list file's own folder for a list named in the config.
        in.list_base = from_override(list_entry->value.key) || text == "-" ? fs::current_path() : in.list.parent_path();
    }
    if (paths != nullptr && generate != nullptr)
        fail(generate->key_mark, generate->value.key,
             "cannot be used together with input.paths: use paths to read files, or generate for jobs that read none");
    if (paths == nullptr && generate == nullptr && list_entry == nullptr)
        fail(e->key_mark, "input",
             "needs paths (files and folders to read), list (a file naming them, one per line) or generate: "
             "{count: N} (jobs that read no file)");
    if (paths != nullptr) {
        for (const Value &item : list(paths->value, "a list of files and folders")) in.paths.push_back(path(item));
        if (in.paths.empty()) fail(paths->value.mark, paths->value.key, "names no file or folder: list at least one");
    }
    if (generate != nullptr) {
        const std::vector<Entry> g = mapping(generate->value, kGenerateKeys);
        const Entry *count = find(g, "count");
        if (count == nullptr)
            fail(generate->key_mark, generate->value.key + ".count",
                 "is missing: how many jobs to generate, e.g. generate: {count: 8}");
        in.generate_count = integer(count->value, 0, kMaxGeneratedJobs);
    }
    for (const Entry &x : entries) {
        if (x.name == "include" || x.name == "exclude") {
            std::vector<std::string> &globs = x.name == "include" ? in.include : in.exclude;
            for (const Value &item : list(x.value, "a list of glob patterns such as \"*.jpg\""))
                globs.push_back(nonempty_string(item));
        } else if (x.name == "recursive") {
            in.recursive = boolean(x.value);
        } else if (x.name == "list_nul") {
            in.list_nul = boolean(x.value);
        } else if (x.name == "exif_orientation") {
            in.decode.exif_orientation = boolean(x.value);
        } else if (x.name == "shrink_on_load") {
            in.decode.shrink_on_load = boolean(x.value);
        } else if (x.name == "colour") {
            const std::string c = choice(x.value, {"srgb", "keep", "ignore"});
            in.decode.colour = c == "keep" ? ColourPolicy::keep : c == "ignore" ? ColourPolicy::ignore : ColourPolicy::srgb;
        } else if (x.name == "damaged") {
            in.decode.damaged = choice(x.value, {"error", "warn"}) == "warn" ? DamagedPolicy::warn : DamagedPolicy::error;
        } else if (x.name == "max_pixels") {
            const std::string text = scalar(x.value, "a pixel count such as 268M");
            try {
                in.decode.max_pixels = parse_pixel_count(text);
            } catch (const std::invalid_argument &err) {
                fail(x.value.mark, x.value.key, err.what());
            }
            // 0 would refuse every image; a limit the user does not want is a large number.
            if (in.decode.max_pixels == 0) fail(x.value.mark, x.value.key, "must be at least 1 pixel, got 0");
        } else if (x.name == "max_decoded") {
            const std::string text = scalar(x.value, "a size such as 1GiB");
            try {
                in.decode.max_decoded = parse_size(text);
            } catch (const std::invalid_argument &err) {
                fail(x.value.mark, x.value.key, err.what());
            }
            if (in.decode.max_decoded == 0) fail(x.value.mark, x.value.key, "must be at least 1 byte, got 0");
        }
    }
}

void Validator::name_template(const Value &v) const {
    const std::string &text = v.node.Scalar();
    for (size_t pos = 0; pos < text.size(); ++pos) {
        // "{{" and "}}" are a literal brace, as the planner reads them (inputs/job_plan).
        if ((text[pos] == '{' || text[pos] == '}') && pos + 1 < text.size() && text[pos + 1] == text[pos]) {
            ++pos;
            continue;
        }
        if (text[pos] == '}') fail(v.mark, v.key, "has a \"}\" without its \"{\" at character " + std::to_string(pos + 1));
        if (text[pos] != '{') continue;
        const size_t close = text.find_first_of("{}", pos + 1);
        if (close == std::string::npos || text[close] != '}')
            fail(v.mark, v.key, "has a \"{\" without its \"}\" at character " + std::to_string(pos + 1));
        const std::string inner = text.substr(pos + 1, close - pos - 1);
        const std::string name = inner.substr(0, inner.find(':')); // allow a format spec after ':'
        if (std::find(kPlaceholders.begin(), kPlaceholders.end(), name) == kPlaceholders.end())
            fail(v.mark, v.key,
                 "unknown placeholder {" + name + "}" + did_you_mean(name, kPlaceholders) +
                     "; placeholders: {stem}, {name}, {ext}, {src_ext}, {rel_dir}, {index}");
        pos = close;
    }
    if (!text.empty() && text[0] == '/') fail(v.mark, v.key, "must be relative to output.dir, got an absolute path");
    std::stringstream parts(text);
    for (std::string part; std::getline(parts, part, '/');)
        if (part == "..") fail(v.mark, v.key, "must stay inside output.dir: remove the \"..\"");
}

void Validator::output(const Entry &e, OutputSpec &out) const {
    out.mark = e.key_mark;
    out.name_mark = e.key_mark;
    const std::vector<Entry> entries = mapping(e.value, kOutputKeys);
    const Entry *dir = find(entries, "dir");
    if (dir == nullptr) fail(e.key_mark, "output.dir", "is missing: the folder the outputs are written to");
    out.dir = path(dir->value);
    if (const Entry *name = find(entries, "name")) {
        out.name = nonempty_string(name->value);
        out.name_mark = name->value.mark;
        name_template(name->value);
    }
    if (const Entry *overwrite = find(entries, "overwrite")) out.overwrite = boolean(overwrite->value);
    if (const Entry *durable = find(entries, "durable")) out.durable = boolean(durable->value);
    if (const Entry *m = find(entries, "metadata")) {
        const std::string policy = choice(m->value, {"strip", "keep", "keep_icc"});
        out.metadata = policy == "keep" ? MetadataPolicy::keep : policy == "keep_icc" ? MetadataPolicy::keep_icc
                                                                                      : MetadataPolicy::strip;
    }
    if (const Entry *gps = find(entries, "strip_gps")) out.strip_gps = boolean(gps->value);
}

void Validator::journal(const Entry &e, JournalSpec &j) const {
    j.mark = e.value.mark;
    if (const std::optional<bool> b = bool_word(scalar(e.value, "a path or false"))) {
        j.enabled = *b; // true: the default place
        return;
    }
    j.path = path(e.value);
}

void Validator::resume(const Entry &e, ResumeSpec &r) const {
    if (e.value.node.IsMap()) {
        for (const Entry &x : mapping(e.value, kResumeKeys))
            r.verify_content = choice(x.value, {"size_mtime", "content"}) == "content";
        return;
    }
    const char *expected = "true, false or a mapping such as {verify: content}";
    const std::optional<bool> b = bool_word(scalar(e.value, expected));
    if (!b) fail(e.value.mark, e.value.key, std::string("must be ") + expected + ", got " + describe(e.value.node));
    r.enabled = *b;
}

void Validator::pool(const Entry &e, PoolSpec &pool) const {
    const int int_max = std::numeric_limits<int>::max();
    std::optional<Value> per_process; // max_memory or max_jobs_per_worker, when set
    for (const Entry &x : mapping(e.value, kPoolKeys)) {
        const Value &v = x.value;
        if (x.name == "mode") {
            const std::string m = choice(v, {"serial", "threads", "processes"});
            pool.mode = m == "serial" ? PoolMode::serial : m == "threads" ? PoolMode::threads : PoolMode::processes;
        } else if (x.name == "start_method") {
            const std::string m = choice(v, {"fork", "spawn", "forkserver"});
            pool.start_method = m == "fork" ? StartMethod::fork : m == "spawn" ? StartMethod::spawn : StartMethod::forkserver;
        } else if (x.name == "workers") {
            const char *expected =
                "a positive whole number, \"auto\" (every core), -N (every core but N) or a share of the cores "
                "such as 50%";
            const std::string text = trim(scalar(v, expected));
            int64_t n = 0;
            if (lower_ascii(text) == "auto") {
                pool.workers = 0;
            } else if (!text.empty() && text.back() == '%' && parse_int64(trim(text.substr(0, text.size() - 1)), n) &&
                       n >= 1 && n <= 100) {
                pool.workers = 0;
                pool.workers_percent = static_cast<int>(n);
            } else if (parse_int64(text, n) && n > kMaxWorkers) {
                fail(v.mark, v.key,
                     "at most " + std::to_string(kMaxWorkers) + " workers, got " + text +
                         ": each is a process with its own pipes, result slots and decoder memory, and the "
                         "coordinator tracks at most that many; to use more cores, split the run into shards "
                         "(--shard I/N) on several machines or several runs");
            } else if (parse_int64(text, n) && n != 0 && n >= -int_max) {
                pool.workers = static_cast<int>(n);
            } else {
                fail(v.mark, v.key, std::string("must be ") + expected + ", got " + describe(v.node));
            }
        } else if (x.name == "nice") {
            pool.nice = static_cast<int>(integer(v, 0, 19));
        } else if (x.name == "threads_per_worker") {
            pool.threads_per_worker = static_cast<int>(integer(v, 1, int_max));
        } else if (x.name == "retries") {
            pool.retries = static_cast<int>(integer(v, 0, int_max));
        } else if (x.name == "max_jobs_per_worker") {
            pool.max_jobs_per_worker = static_cast<int>(integer(v, 0, int_max));
            if (pool.max_jobs_per_worker > 0) per_process = v;
        } else if (x.name == "oversubscribe") {
            pool.oversubscribe = boolean(v);
        } else if (x.name == "timeout") {
            const std::string text = scalar(v, "a duration such as 60s");
            try {
                pool.timeout_s = parse_duration(text);
            } catch (const std::invalid_argument &err) {
                fail(v.mark, v.key, err.what());
            }
        } else if (x.name == "max_memory") {
            const std::string text = scalar(v, "a size such as 2GiB");
            try {
                pool.max_memory = parse_size(text);
            } catch (const std::invalid_argument &err) {
                fail(v.mark, v.key, err.what());
            }
            if (pool.max_memory > 0) per_process = v;
        }
    }
    // Both act on worker processes (a cap a job's allocations hit, a process replaced after
    // N jobs): jobs that share this process have neither, and memory a job leaks here cannot
    // be given back.
    if (per_process && pool.mode != PoolMode::processes)
        fail(per_process->mark, per_process->key,
             std::string("applies to worker processes, and pool.mode is ") +
                 (pool.mode == PoolMode::serial ? "serial" : "threads") +
                 ": its jobs share one process, which cannot cap or renew itself per job; use pool.mode: processes, or "
                 "remove this setting");
}

void Validator::pipeline(const Entry *e, const SourceMark &root_mark, std::vector<StageSpec> &stages) const {
    const char *example = "e.g. `- resize: {max_side: 256}` or `- grayscale: {}`";
    if (e == nullptr)
        fail(root_mark, "pipeline", std::string("is missing: add a list of stages, ") + example);
    const Value &v = e->value;
    if (!v.node.IsSequence())
        fail(v.mark, v.key, std::string("must be a list of stages, ") + example + ", got " + describe(v.node));
    if (v.node.size() == 0) fail(v.mark, v.key, std::string("is empty: list at least one stage, ") + example);
    for (size_t i = 0; i < v.node.size(); ++i) {
        const std::string key = "pipeline[" + std::to_string(i) + "]";
        const YAML::Node item = v.node[i];
        const SourceMark item_mark = item.IsNull() && !from_override(key) ? v.mark : mark_at(item, key);
        if (!item.IsMap())
            fail(item_mark, key,
                 std::string("must be a stage: its name mapped to its parameters, ") + example + ", got " + describe(item));
        if (item.size() != 1) {
            std::vector<std::string> names;
            for (auto it = item.begin(); it != item.end(); ++it) names.push_back(describe(it->first));
            if (names.empty()) fail(item_mark, key, std::string("names no stage: ") + example);
            // The usual cause: parameters written under "- resize:" at the indentation of its name.
            fail(item_mark, key,
                 "has " + std::to_string(names.size()) + " keys (" + join(names) +
                     ") but a stage has exactly one, its name: indent the parameters under the stage name, "
                     "or put each stage in its own list item");
        }
        const YAML::Node name_node = item.begin()->first;
        const YAML::Node params = item.begin()->second;
        if (!name_node.IsScalar() || trim(name_node.Scalar()).empty())
            fail(mark_at(name_node, key), key, "a stage name must be a word such as resize, got " + describe(name_node));
        StageSpec stage;
        stage.name = name_node.Scalar();
        stage.mark = mark_at(name_node, key);
        const std::string stage_key = key + "." + stage.name;
        if (!params.IsNull()) {
            if (!params.IsMap())
                fail(mark_at(params, stage_key), stage_key,
                     "the parameters of stage \"" + stage.name + "\" must be a mapping (name: value), got " +
                         describe(params));
            // Any key is accepted here: the plugin host checks names against the stage's schema.
            for (const Entry &p : mapping(Value{params, stage_key, stage.mark}, {}))
                stage.params.push_back(
                    RawParam{p.name, p.value.node, p.value.mark, from_override(p.value.key) ? cwd_ : base_});
        }
        stages.push_back(std::move(stage));
    }
}

void Validator::run(const YAML::Node &root, RunSpec &spec) const {
    if (!root.IsDefined() || root.IsNull())
        fail(SourceMark{file_, 0, 0}, "", "the config is empty: it needs at least an input section and a pipeline");
    const YAML::Mark rm = root.Mark();
    const SourceMark root_mark = rm.is_null() ? SourceMark{file_, 0, 0} : SourceMark{file_, rm.line + 1, rm.column + 1};
    if (!root.IsMap())
        fail(root_mark, "", "a config must be a mapping of keys (" + join(kTopKeys) + "), got " + describe(root));
    const std::vector<Entry> top = mapping(Value{root, "", root_mark}, kTopKeys);

    plugins(find(top, "plugins"), spec);
    if (const Entry *pp = find(top, "plugin_path"))
        for (const Value &item : list(pp->value, "a list of folders")) spec.plugin_path.push_back(path(item));
    input(find(top, "input"), root_mark, spec.input);
    // output.metadata's default follows the colour policy (pixels kept in their profile need
    // it); output.metadata, when given, overrides it.
    if (spec.input.decode.colour == ColourPolicy::keep) spec.output.metadata = MetadataPolicy::keep_icc;
    if (const Entry *out = find(top, "output")) output(*out, spec.output);
    if (const Entry *p = find(top, "pool")) pool(*p, spec.pool);
    if (const Entry *report = find(top, "report")) spec.report = path(report->value);
    if (const Entry *j = find(top, "journal")) journal(*j, spec.journal);
    if (const Entry *r = find(top, "resume")) resume(*r, spec.resume);
    pipeline(find(top, "pipeline"), root_mark, spec.pipeline);
}

// Every key and value of the config (overrides applied), before anything else walks it:
// - no key or value may hold a NUL character (written "\0" in a quoted YAML string): names
//   and paths are C strings further on, where it would silently cut them short;
// - aliases make the tree a graph: one that loops (an alias inside the node it names,
//   "&a {x: *a}") is refused, as is one whose aliases expand it past kMaxConfigValues values
//   ("billion laughs": a few lines, 10^9 values).
constexpr size_t kMaxConfigValues = 1'000'000;

void check_values(const YAML::Node &node, const std::string &label, std::vector<YAML::Node> &path, size_t &seen) {
    const auto where = [&](const YAML::Node &n) {
        const YAML::Mark m = n.Mark();
        return m.is_null() ? SourceMark{label, 0, 0} : SourceMark{label, m.line + 1, m.column + 1};
    };
    if (++seen > kMaxConfigValues)
        fail(where(node), "", "the config's aliases (*name) expand it to over " + std::to_string(kMaxConfigValues) +
                                  " values; a config is not that large");
    if (node.IsScalar()) {
        const std::string &text = node.Scalar();
        if (text.find('\0') != std::string::npos) {
            std::string shown;
            for (char c : text) shown += c == '\0' ? std::string("\\0") : std::string(1, c);
            fail(where(node), "", "\"" + shown + "\" holds a NUL character (\\0), which no key or value may hold");
        }
        return;
    }
    if (!node.IsSequence() && !node.IsMap()) return;
    for (const YAML::Node &outer : path)
        if (outer.is(node))
            fail(where(node), "", "an alias (*name) stands for a value it is itself part of, so the value would "
                                  "contain itself without end; a config cannot be recursive");
    path.push_back(node);
    if (node.IsSequence()) {
        for (const YAML::Node &item : node) check_values(item, label, path, seen);
    } else {
        for (auto it = node.begin(); it != node.end(); ++it) {
            check_values(it->first, label, path, seen);
            check_values(it->second, label, path, seen);
        }
    }
    path.pop_back();
}

void check_config_values(const YAML::Node &root, const std::string &label) {
    std::vector<YAML::Node> path;
    size_t seen = 0;
    check_values(root, label, path, seen);
}

// The documents of a YAML text, counted without YAML::LoadAll: yaml-cpp 0.7's LoadAll never
// returns on a stray ',' after a document ("{a: 1},", or a line "," after a flow mapping),
// adding empty documents until memory runs out, because its parser reports an empty
// document at a token it cannot place without moving past it (fixed upstream after 0.8).
struct DocumentCount {
    size_t count = 0;
    YAML::Mark second;                 // where the second document's content starts
    std::optional<YAML::Mark> stuck_at; // the token the parser cannot get past
};

class DocumentMarks : public YAML::EventHandler {
public:
    YAML::Mark start;   // of the document (its first token)
    YAML::Mark content; // of its root node
    bool has_content = false;
    void OnDocumentStart(const YAML::Mark &mark) override {
        start = mark;
        has_content = false;
    }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark &mark, YAML::anchor_t) override { at(mark); }
    void OnAlias(const YAML::Mark &mark, YAML::anchor_t) override { at(mark); }
    void OnScalar(const YAML::Mark &mark, const std::string &, YAML::anchor_t, const std::string &) override { at(mark); }
    void OnSequenceStart(const YAML::Mark &mark, const std::string &, YAML::anchor_t, YAML::EmitterStyle::value) override {
        at(mark);
    }
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark &mark, const std::string &, YAML::anchor_t, YAML::EmitterStyle::value) override {
        at(mark);
    }
    void OnMapEnd() override {}

private:
    void at(const YAML::Mark &mark) {
        if (!has_content) content = mark;
        has_content = true;
    }
};

// Throws YAML::Exception for a syntax error in any document.
DocumentCount count_documents(const std::string &yaml) {
    std::istringstream in(yaml);
    YAML::Parser parser(in);
    DocumentMarks marks;
    DocumentCount out;
    std::optional<int> previous_start;
    while (parser.HandleNextDocument(marks)) {
        // Every real document moves past at least one token; two that start at the same
        // place are the parser stuck on one.
        if (previous_start && *previous_start == marks.start.pos) {
            if (marks.start.pos >= 0 && static_cast<size_t>(marks.start.pos) < yaml.size()) out.stuck_at = marks.start;
            break;
        }
        previous_start = marks.start.pos;
        if (++out.count == 2) out.second = marks.content;
    }
    return out;
}

} // namespace

RunSpec load_config_text(const std::string &yaml, const fs::path &file, const std::vector<std::string> &overrides) {
    const std::string label = file.string();
    if (const size_t nul = yaml.find('\0'); nul != std::string::npos) {
        const size_t line_start = yaml.rfind('\n', nul);
        const size_t line = 1 + static_cast<size_t>(std::count(yaml.begin(), yaml.begin() + static_cast<std::ptrdiff_t>(nul), '\n'));
        const size_t column = nul - (line_start == std::string::npos ? 0 : line_start + 1) + 1;
        fail(SourceMark{label, static_cast<int>(line), static_cast<int>(column)}, "",
             "the file holds a NUL byte: a config is UTF-8 text (is this a binary file?)");
    }
    YAML::Node root;
    try {
        root = YAML::Load(yaml); // the first document; count_documents looks at the others
        const DocumentCount docs = count_documents(yaml);
        if (docs.stuck_at) fail(SourceMark{label, docs.stuck_at->line + 1, docs.stuck_at->column + 1}, "",
                                "YAML syntax error: unexpected \"" + std::string(1, yaml[docs.stuck_at->pos]) + "\"");
        if (docs.count > 1) {
            const YAML::Mark m = docs.second;
            fail(SourceMark{label, m.is_null() ? 0 : m.line + 1, m.is_null() ? 0 : m.column + 1}, "",
                 "has " + std::to_string(docs.count) + " YAML documents (separated by ---); a config is one document");
        }
    } catch (const YAML::Exception &e) {
        const SourceMark mark = e.mark.is_null() ? SourceMark{label, 0, 0}
                                                 : SourceMark{label, e.mark.line + 1, e.mark.column + 1};
        fail(mark, "", "YAML syntax error: " + e.msg);
    }

    std::vector<Override> parsed;
    for (const std::string &text : overrides) parsed.push_back(parse_override(text));
    if (!parsed.empty()) {
        if (!root.IsDefined() || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
        if (!root.IsMap()) {
            const YAML::Mark m = root.Mark();
            fail(SourceMark{label, m.line + 1, m.column + 1}, "",
                 "a config must be a mapping of keys (" + join(kTopKeys) + "), got " + describe(root));
        }
        for (const Override &o : parsed) apply_override(root, o);
    }
    check_config_values(root, label);

    RunSpec spec;
    spec.config_path = normal_absolute(file);
    spec.base_dir = spec.config_path.parent_path();
    std::vector<std::string> set_keys;
    for (const Override &o : parsed) set_keys.push_back(o.canonical);
    Validator(label, spec.base_dir, set_keys).run(root, spec);
    return spec;
}

RunSpec load_config(const fs::path &file, const std::vector<std::string> &overrides) {
    const std::string label = file.string();
    std::error_code ec;
    if (fs::is_directory(file, ec)) fail(SourceMark{label, 0, 0}, "", "is a folder, not a config file");
    std::ifstream in(file, std::ios::binary);
    if (!in) fail(SourceMark{label, 0, 0}, "", std::string("cannot read the config file: ") + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) fail(SourceMark{label, 0, 0}, "", std::string("cannot read the config file: ") + std::strerror(errno));
    return load_config_text(text.str(), file, overrides);
}

} // namespace batchproc
