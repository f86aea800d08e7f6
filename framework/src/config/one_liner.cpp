#include "config/one_liner.hpp"

#include "config/text.hpp"
#include "io/path_safety.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>

namespace batchproc {

namespace fs = std::filesystem;

namespace {

const char *const kForm = "write -p 'STAGE name=value ...', e.g. -p 'resize max_side=1600'";

// The text as a shell word, so that a message shows the option as it could be typed again.
std::string shell_quote(const std::string &text) {
    std::string out = "'";
    for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

std::string stage_label(const std::string &text) { return "-p " + shell_quote(text); }

[[noreturn]] void fail_stage(const std::string &text, const std::string &message) {
    throw ConfigError(SourceMark{stage_label(text), 0, 0}, "", message);
}

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool is_quote(char c) { return c == '"' || c == '\''; }

// A value with the quoting rules of YAML: "..." with backslash escapes, '...' with '' for a
// quote. Anything else is the text as written, never read as YAML (so {stem} and #1 stay text).
YAML::Node value_node(const std::string &text, const std::string &word, const std::string &stage) {
    if (text.empty() || !is_quote(text[0])) return YAML::Node(text);
    YAML::Node node;
    try {
        node = YAML::Load(text);
    } catch (const YAML::Exception &e) {
        fail_stage(stage, "the quoted value in \"" + word + "\" cannot be read: " + e.msg +
                              " (inside \"...\" a backslash starts an escape such as \\n; '...' has none)");
    }
    if (!node.IsScalar())
        fail_stage(stage,
                   "the value in \"" + word + "\" is not one quoted string: quote the whole value, as in text='a b'");
    return node;
}

fs::path absolute(const std::string &text, const fs::path &cwd) { return normal_absolute(fs::path(text), cwd); }

YAML::Node flow_list(const std::vector<std::string> &items) {
    YAML::Node list(YAML::NodeType::Sequence);
    for (const std::string &item : items) list.push_back(item);
    list.SetStyle(YAML::EmitterStyle::Flow);
    return list;
}

// A plugin named by path (as the loader tells names and paths apart) is made absolute.
std::string plugin_entry(const std::string &text, const fs::path &cwd) {
    const bool is_path =
        text.find('/') != std::string::npos || (text.size() > 3 && text.compare(text.size() - 3, 3, ".so") == 0);
    return is_path ? absolute(text, cwd).string() : text;
}

bool is_bool_word(const std::string &text) {
    const std::string t = lower_ascii(text);
    return t == "true" || t == "false" || t == "yes" || t == "no" || t == "on" || t == "off";
}

// true when `key` is `name` or lies under it ("pool.workers" under "pool", "pipeline[0].x"
// under "pipeline").
bool key_under(const std::string &key, const std::string &name) {
    if (key.compare(0, name.size(), name) != 0) return false;
    return key.size() == name.size() || key[name.size()] == '.' || key[name.size()] == '[';
}

// N in "name[N]...", or -1.
long index_in(const std::string &key, const std::string &name) {
    if (key.size() <= name.size() + 2 || key[name.size()] != '[') return -1;
    char *end = nullptr;
    const long i = std::strtol(key.c_str() + name.size() + 1, &end, 10);
    return end != nullptr && *end == ']' ? i : -1;
}

// The option of the one-liner that a config key came from.
std::string option_for(const std::string &key, const OneLiner &line) {
    if (key_under(key, "pipeline")) {
        const long i = index_in(key, "pipeline");
        return i >= 0 && static_cast<size_t>(i) < line.stages.size() ? stage_label(line.stages[size_t(i)]) : "-p";
    }
    if (key_under(key, "input.paths")) {
        const long i = index_in(key, "input.paths");
        return i >= 0 && static_cast<size_t>(i) < line.inputs.size() ? "input " + shell_quote(line.inputs[size_t(i)])
                                                                      : "inputs";
    }
    // Most specific first: "input.list" before "input".
    static const std::pair<const char *, const char *> kOptions[] = {
        {"input.list", "--files-from"},
        {"input.list_nul", "-0"},
        {"input.include", "--include"},
        {"input.exclude", "--exclude"},
        {"input.recursive", "--no-recursive"},
        {"input", "inputs"},
        {"output.name", "--name"},
        {"output.metadata", "--metadata"},
        {"output", "-o/--output"},
        {"pool.mode", "--mode"},
        {"pool.workers", "-w/--workers"},
        {"pool.start_method", "--start-method"},
        {"report", "--report"},
        {"journal", "--journal"},
        {"resume", "--no-resume/--verify-content"},
        {"plugins", "--plugins"},
    };
    for (const auto &[name, option] : kOptions)
        if (key_under(key, name)) return option;
    return "batchproc do";
}

} // namespace

std::vector<std::string> split_stage_words(const std::string &text) {
    std::vector<std::string> words;
    size_t i = 0;
    const size_t n = text.size();
    while (true) {
        while (i < n && is_blank(text[i])) ++i;
        if (i == n) break;
        std::string word;
        while (i < n && !is_blank(text[i])) {
            // A quote opens only where a YAML scalar would start: at the start of the word or
            // of its value. Elsewhere it is a character like any other (text=O'Brien).
            const bool at_value = !word.empty() && word.back() == '=' && word.find('=') == word.size() - 1;
            if (is_quote(text[i]) && (word.empty() || at_value)) {
                const char q = text[i];
                size_t j = i + 1;
                // Escapes as in YAML: \" (and any \x) inside "...", '' inside '...'.
                while (j < n) {
                    if (q == '"' && text[j] == '\\' && j + 1 < n) j += 2;
                    else if (q == '\'' && text[j] == '\'' && j + 1 < n && text[j + 1] == '\'') j += 2;
                    else if (text[j] == q) break;
                    else ++j;
                }
                if (j >= n)
                    fail_stage(text, std::string("the ") + (q == '"' ? "double" : "single") + " quote in \"" +
                                         word + text.substr(i) + "\" is not closed");
                word.append(text, i, j + 1 - i);
                i = j + 1;
                // The quoted part is the whole value: text='a b'c is a mistake, not "a b".
                if (i < n && !is_blank(text[i])) {
                    const std::string rest = text.substr(i, text.find_first_of(" \t\r\n", i) - i);
                    fail_stage(text, "\"" + word + "\" is followed by \"" + rest +
                                         "\" after its closing quote: quote the whole value, as in text='a b'");
                }
            } else {
                word += text[i++];
            }
        }
        words.push_back(word);
    }
    return words;
}

StageWords parse_stage_words(const std::string &text) {
    const std::vector<std::string> words = split_stage_words(text);
    if (words.empty()) fail_stage(text, std::string("names no stage: ") + kForm);
    StageWords stage;
    stage.name = words[0];
    if (stage.name.find('=') != std::string::npos || is_quote(stage.name[0]))
        fail_stage(text, "starts with \"" + stage.name + "\", not a stage name: " + kForm);
    for (size_t w = 1; w < words.size(); ++w) {
        const std::string &word = words[w];
        const size_t eq = word.find('=');
        if (eq == std::string::npos || eq == 0)
            fail_stage(text, "\"" + word + "\" is not a parameter: write name=value, e.g. max_side=1600 " +
                                 "(quote a value with spaces: text='a b')");
        const std::string name = word.substr(0, eq);
        for (const auto &p : stage.params)
            if (p.first == name) fail_stage(text, "parameter \"" + name + "\" is given twice; keep one");
        stage.params.emplace_back(name, value_node(word.substr(eq + 1), word, text));
    }
    return stage;
}

YAML::Node one_liner_config(const OneLiner &line, const fs::path &cwd) {
    YAML::Node root(YAML::NodeType::Map);

    // The bundled image stages are always there, as `batchproc plugins` shows them.
    std::vector<std::string> plugins{"imgproc"};
    for (const std::string &p : line.plugins) {
        const std::string entry = plugin_entry(p, cwd);
        bool seen = false;
        for (const std::string &q : plugins) seen = seen || q == entry;
        if (!seen) plugins.push_back(entry);
    }
    root["plugins"] = flow_list(plugins);

    YAML::Node input(YAML::NodeType::Map);
    if (!line.inputs.empty()) {
        std::vector<std::string> paths;
        for (const std::string &p : line.inputs) paths.push_back(absolute(p, cwd).string());
        input["paths"] = flow_list(paths);
    }
    if (!line.files_from.empty())
        input["list"] = line.files_from == "-" ? std::string("-") : absolute(line.files_from, cwd).string();
    if (line.null_separated) input["list_nul"] = true;
    if (!line.include.empty()) input["include"] = flow_list(line.include);
    if (!line.exclude.empty()) input["exclude"] = flow_list(line.exclude);
    if (!line.recursive) input["recursive"] = false;
    root["input"] = input;

    if (!line.output_dir.empty() || !line.name.empty() || !line.metadata.empty()) {
        YAML::Node output(YAML::NodeType::Map);
        if (!line.output_dir.empty()) output["dir"] = absolute(line.output_dir, cwd).string();
        if (!line.name.empty()) output["name"] = line.name;
        if (!line.metadata.empty()) output["metadata"] = line.metadata;
        root["output"] = output;
    }

    if (!line.mode.empty() || !line.workers.empty() || !line.start_method.empty()) {
        YAML::Node pool(YAML::NodeType::Map);
        if (!line.mode.empty()) pool["mode"] = line.mode;
        if (!line.workers.empty()) pool["workers"] = line.workers;
        if (!line.start_method.empty()) pool["start_method"] = line.start_method;
        root["pool"] = pool;
    }

    if (!line.report.empty()) root["report"] = absolute(line.report, cwd).string();
    if (!line.journal.empty())
        root["journal"] = is_bool_word(line.journal) ? line.journal : absolute(line.journal, cwd).string();
    if (!line.resume) {
        root["resume"] = false;
    } else if (line.verify_content) {
        YAML::Node resume(YAML::NodeType::Map);
        resume["verify"] = "content";
        resume.SetStyle(YAML::EmitterStyle::Flow);
        root["resume"] = resume;
    }

    YAML::Node pipeline(YAML::NodeType::Sequence);
    for (const std::string &text : line.stages) {
        const StageWords words = parse_stage_words(text);
        YAML::Node params(YAML::NodeType::Map);
        for (const auto &[name, value] : words.params) {
            const bool path = line.is_path && value.IsScalar() && !value.Scalar().empty() && line.is_path(words.name, name);
            params[name] = path ? YAML::Node(absolute(value.Scalar(), cwd).string()) : value;
        }
        params.SetStyle(YAML::EmitterStyle::Flow);
        YAML::Node stage(YAML::NodeType::Map);
        stage[words.name] = params;
        pipeline.push_back(stage);
    }
    root["pipeline"] = pipeline;
    return root;
}

std::string config_text(const YAML::Node &config) {
    YAML::Emitter out;
    out << config;
    return std::string("# A batchproc do command line as a config (paths are absolute: it runs from any folder).\n"
                       "# Run it with: batchproc run FILE\n") +
           out.c_str() + "\n";
}

ConfigError one_liner_error(const ConfigError &e, const OneLiner &line) {
    const std::string &key = e.key();
    std::string message = e.message();
    // The loader's wording for a stage of a plugin not loaded ("add it to plugins").
    if (key_under(key, "pipeline") && message.find("does not load") != std::string::npos)
        message += " (with batchproc do: --plugins NAME)";
    // What is missing is an option not given: say which.
    if (key == "input" && line.inputs.empty() && line.files_from.empty())
        message += " (with batchproc do: name files or folders, or give --files-from FILE)";
    if (key == "output.dir" && line.output_dir.empty()) message += " (with batchproc do: give -o DIR)";
    return ConfigError(SourceMark{option_for(key, line), 0, 0}, key, message);
}

OneLinerConfigFile::OneLinerConfigFile(const std::string &text) {
    const char *tmp = std::getenv("TMPDIR");
    const fs::path dir = tmp != nullptr && *tmp != '\0' ? fs::path(tmp) : fs::path("/tmp");
    std::string name = normal_absolute(dir / "batchproc-do-XXXXXX.yaml").string();
    const int fd = ::mkstemps(name.data(), 5);
    if (fd < 0)
        throw std::system_error(errno, std::generic_category(), "cannot create a temporary config in " + dir.string());
    path_ = name;
    owner_ = ::getpid();
    size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int err = errno;
            ::close(fd);
            ::unlink(path_.c_str());
            throw std::system_error(err, std::generic_category(),
                                    "cannot write the temporary config " + path_.string());
        }
        done += static_cast<size_t>(n);
    }
    ::close(fd);
}

OneLinerConfigFile::~OneLinerConfigFile() {
    // A forked worker that unwinds must not remove the file the others still read.
    if (::getpid() == owner_) ::unlink(path_.c_str());
}

} // namespace batchproc
