#include "plugin_host/param_set.hpp"

#include "config/suggest.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>

namespace batchproc {

const char *param_type_name(int32_t type) {
    switch (type) {
    case BP_PARAM_INT: return "integer";
    case BP_PARAM_FLOAT: return "number";
    case BP_PARAM_BOOL: return "boolean";
    case BP_PARAM_STRING: return "string";
    case BP_PARAM_CHOICE: return "choice";
    case BP_PARAM_PATH: return "path";
    }
    return "unknown";
}

ParamSet::ParamSet(const ParamSet &other) { *this = other; }

ParamSet &ParamSet::operator=(const ParamSet &other) {
    if (this == &other) return *this;
    names_.clear();
    strings_.clear();
    values_ = other.values_;
    for (bp_param_value &v : values_) {
        names_.push_back(std::make_unique<std::string>(v.name));
        v.name = names_.back()->c_str();
        if (v.string_value != nullptr) {
            strings_.push_back(std::make_unique<std::string>(v.string_value));
            v.string_value = strings_.back()->c_str();
        }
    }
    relink();
    return *this;
}

void ParamSet::relink() {
    c_params_.count = values_.size();
    c_params_.values = values_.data();
}

const bp_param_value *ParamSet::find(const std::string &name) const {
    for (const bp_param_value &v : values_)
        if (name == v.name) return &v;
    return nullptr;
}

std::string ParamSet::text(const std::string &name) const {
    const bp_param_value *v = find(name);
    if (v == nullptr || !v->is_set) return "";
    switch (v->type) {
    case BP_PARAM_INT: return std::to_string(v->int_value);
    case BP_PARAM_FLOAT: {
        std::ostringstream out;
        out << v->float_value;
        return out.str();
    }
    case BP_PARAM_BOOL: return v->bool_value ? "true" : "false";
    default: return v->string_value ? v->string_value : "";
    }
}

namespace {

std::string format_bound(double v, int32_t type) {
    char buf[64];
    if (type == BP_PARAM_INT) std::snprintf(buf, sizeof buf, "%.0f", v);
    else std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

std::string describe_range(const bp_param_schema &s) {
    return "[" + format_bound(s.min_value, s.type) + ", " + format_bound(s.max_value, s.type) + "]";
}

bool parse_int(const std::string &text, int64_t &out) {
    if (text.empty()) return false;
    errno = 0;
    char *end = nullptr;
    const long long v = std::strtoll(text.c_str(), &end, 10);
    if (errno != 0 || end == nullptr || *end != '\0') return false;
    out = v;
    return true;
}

bool parse_float(const std::string &text, double &out) {
    if (text.empty()) return false;
    char *end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (end == nullptr || *end != '\0' || !std::isfinite(v)) return false;
    out = v;
    return true;
}

bool parse_bool(const std::string &text, bool &out) {
    if (text == "true" || text == "True" || text == "TRUE" || text == "yes" || text == "on") {
        out = true;
        return true;
    }
    if (text == "false" || text == "False" || text == "FALSE" || text == "no" || text == "off") {
        out = false;
        return true;
    }
    return false;
}

// A PATH value made absolute (from `base`, or the working folder when `base` is empty; "~/"
// from $HOME, as the config's own paths) and checked to be a readable regular file.
// Returns an error sentence, or "" with `out` set.
std::string resolve_file(const std::string &text, const std::filesystem::path &base, std::string &out) {
    namespace fs = std::filesystem;
    if (text.empty()) return "is an empty path; give a file";
    fs::path p(text);
    if (text == "~" || text.rfind("~/", 0) == 0) {
        if (const char *home = std::getenv("HOME"); home != nullptr && *home != '\0')
            p = fs::path(home) / text.substr(text.size() > 1 ? 2 : 1);
    }
    std::error_code ec;
    std::string where;
    if (p.is_relative()) {
        const fs::path from = base.empty() ? fs::current_path(ec) : base;
        where = " (\"" + text + "\" is taken from " + from.string() + ")";
        p = from / p;
    }
    p = p.lexically_normal();
    const fs::file_status st = fs::status(p, ec);
    if (!fs::exists(st)) return "the file " + p.string() + " does not exist" + where;
    if (fs::is_directory(st)) return p.string() + " is a folder; give a file" + where;
    if (!fs::is_regular_file(st)) return p.string() + " is not a regular file";
    const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return "cannot read the file " + p.string() + ": " + std::strerror(errno);
    ::close(fd);
    out = p.string();
    return "";
}

// Fills `v` from `text`; returns an error sentence, or "" when the value is acceptable.
// `base` is the folder relative PATH values are taken from.
std::string convert(const bp_param_schema &s, const std::string &text, bp_param_value &v, std::string &string_store,
                    const std::filesystem::path &base) {
    v.is_set = 1;
    switch (s.type) {
    case BP_PARAM_INT: {
        if (!parse_int(text, v.int_value)) return "must be an integer, got \"" + text + "\"";
        if (s.has_range && (double(v.int_value) < s.min_value || double(v.int_value) > s.max_value))
            return "must be in " + describe_range(s) + ", got " + text;
        return "";
    }
    case BP_PARAM_FLOAT: {
        if (!parse_float(text, v.float_value)) return "must be a number, got \"" + text + "\"";
        if (s.has_range && (v.float_value < s.min_value || v.float_value > s.max_value))
            return "must be in " + describe_range(s) + ", got " + text;
        return "";
    }
    case BP_PARAM_BOOL: {
        bool b = false;
        if (!parse_bool(text, b)) return "must be true or false, got \"" + text + "\"";
        v.bool_value = b ? 1 : 0;
        return "";
    }
    case BP_PARAM_CHOICE: {
        std::vector<std::string> choices;
        for (const char *const *c = s.choices; c != nullptr && *c != nullptr; ++c) choices.emplace_back(*c);
        bool found = false;
        for (const std::string &c : choices) found = found || c == text;
        if (!found) {
            std::string list;
            for (const std::string &c : choices) list += (list.empty() ? "" : ", ") + c;
            return "must be one of " + list + ", got \"" + text + "\"" + did_you_mean(text, choices);
        }
        string_store = text;
        return "";
    }
    case BP_PARAM_PATH: return resolve_file(text, base, string_store);
    default:
        string_store = text;
        return "";
    }
}

} // namespace

ParamSet validate_params(const bp_stage_descriptor &stage, const StageSpec &spec, const std::string &key) {
    std::vector<std::string> names;
    for (size_t i = 0; i < stage.param_count; ++i) names.emplace_back(stage.params[i]->name);
    for (const RawParam &raw : spec.params) {
        bool known = false;
        for (const std::string &n : names) known = known || n == raw.name;
        if (!known) {
            std::string list;
            for (const std::string &n : names) list += (list.empty() ? "" : ", ") + n;
            throw ConfigError(raw.mark, key + "." + raw.name,
                              "unknown parameter of stage \"" + std::string(stage.name) + "\"" +
                                  did_you_mean(raw.name, names) +
                                  (list.empty() ? "; it takes no parameters" : "; it takes: " + list));
        }
    }

    ParamSet set;
    for (size_t i = 0; i < stage.param_count; ++i) {
        const bp_param_schema &s = *stage.params[i];
        bp_param_value v{};
        set.names_.push_back(std::make_unique<std::string>(s.name));
        v.name = set.names_.back()->c_str();
        v.type = s.type;
        std::string text;
        const RawParam *given = nullptr;
        for (const RawParam &raw : spec.params)
            if (raw.name == s.name) given = &raw;
        std::string store;
        if (given != nullptr) {
            if (!given->value.IsScalar())
                throw ConfigError(given->mark, key + "." + s.name,
                                  std::string("must be a ") + param_type_name(s.type) + ", got a " +
                                      (given->value.IsSequence() ? "list" : given->value.IsMap() ? "mapping" : "null value"));
            text = given->value.Scalar();
            const std::string error = convert(s, text, v, store, given->base_dir);
            if (!error.empty()) throw ConfigError(given->mark, key + "." + s.name, error);
        } else if (s.default_value != nullptr) {
            const std::string error = convert(s, s.default_value, v, store, {});
            if (!error.empty())
                throw ConfigError(spec.mark, key + "." + s.name, "the plugin's default is invalid: " + error);
        } else {
            v.is_set = 0;
        }
        if (v.is_set && (s.type == BP_PARAM_STRING || s.type == BP_PARAM_CHOICE || s.type == BP_PARAM_PATH)) {
            set.strings_.push_back(std::make_unique<std::string>(store));
            v.string_value = set.strings_.back()->c_str();
        }
        set.values_.push_back(v);
    }
    set.relink();
    return set;
}

} // namespace batchproc
