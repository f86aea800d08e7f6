// plugins: what the loaded plugins offer, as text or JSON.
#include "commands.hpp"

#include "codec/image_encoder.hpp"
#include "inputs/image_formats.hpp"
#include "plugin_host/param_set.hpp"
#include "plugin_host/plugin_registry.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <string>

namespace batchproc::cli {

namespace {

nlohmann::ordered_json describe_param(const bp_param_schema &p) {
    nlohmann::ordered_json j;
    j["name"] = p.name;
    j["type"] = param_type_name(p.type);
    j["default"] = p.default_value ? nlohmann::ordered_json(p.default_value) : nlohmann::ordered_json(nullptr);
    if (p.has_range) {
        if (p.type == BP_PARAM_INT) {
            j["min"] = static_cast<int64_t>(p.min_value);
            j["max"] = static_cast<int64_t>(p.max_value);
        } else {
            j["min"] = p.min_value;
            j["max"] = p.max_value;
        }
    }
    if (p.type == BP_PARAM_CHOICE) {
        nlohmann::ordered_json choices = nlohmann::ordered_json::array();
        for (const char *const *c = p.choices; c && *c; ++c) choices.push_back(*c);
        j["choices"] = choices;
    }
    j["doc"] = p.doc ? p.doc : "";
    return j;
}

nlohmann::ordered_json describe_plugin(const LoadedPlugin &p) {
    nlohmann::ordered_json j;
    j["id"] = p.id;
    j["version"] = p.version;
    j["api"] = std::to_string(p.descriptor->api_major) + "." + std::to_string(p.descriptor->api_minor);
    j["file"] = p.file.string();
    j["doc"] = p.doc;
    nlohmann::ordered_json stages = nlohmann::ordered_json::array();
    for (size_t i = 0; i < p.descriptor->stage_count; ++i) {
        const bp_stage_descriptor &s = *p.descriptor->stages[i];
        nlohmann::ordered_json st;
        st["name"] = s.name;
        st["doc"] = s.doc ? s.doc : "";
        st["needs_image"] = (s.flags & BP_STAGE_NEEDS_IMAGE) != 0;
        st["writes_output"] = (s.flags & BP_STAGE_WRITES_OUTPUT) != 0;
        st["thread_safe"] = (s.flags & BP_STAGE_NOT_THREAD_SAFE) == 0;
        nlohmann::ordered_json params = nlohmann::ordered_json::array();
        for (size_t k = 0; k < s.param_count; ++k) params.push_back(describe_param(*s.params[k]));
        st["params"] = params;
        stages.push_back(st);
    }
    j["stages"] = stages;
    return j;
}

void print_plugin_text(const nlohmann::ordered_json &p) {
    std::printf("%s %s (API %s)  %s\n  %s\n", p["id"].get<std::string>().c_str(), p["version"].get<std::string>().c_str(),
                p["api"].get<std::string>().c_str(), p["file"].get<std::string>().c_str(),
                p["doc"].get<std::string>().c_str());
    for (const auto &s : p["stages"]) {
        std::printf("\n  %s: %s%s\n", s["name"].get<std::string>().c_str(), s["doc"].get<std::string>().c_str(),
                    s["thread_safe"].get<bool>() ? "" : " (not thread-safe: takes turns in threads mode)");
        for (const auto &q : s["params"]) {
            std::string constraint;
            if (q.contains("min"))
                constraint = "[" + nlohmann::json(q["min"]).dump() + ", " + nlohmann::json(q["max"]).dump() + "]";
            if (q.contains("choices")) {
                for (const auto &c : q["choices"]) constraint += (constraint.empty() ? "" : "|") + c.get<std::string>();
            }
            const std::string def = q["default"].is_null() ? "(unset)" : q["default"].get<std::string>();
            std::printf("      %-16s %-8s default %-10s %-24s %s\n", q["name"].get<std::string>().c_str(),
                        q["type"].get<std::string>().c_str(), def.c_str(), constraint.c_str(),
                        q["doc"].get<std::string>().c_str());
        }
    }
}

} // namespace

int cmd_plugins(const std::string &name, bool json) {
    PluginRegistry registry;
    std::vector<std::string> errors = registry.load_all();
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    bool found = name.empty();
    for (const LoadedPlugin &p : registry.plugins()) {
        if (!name.empty() && p.id != name) continue;
        found = true;
        list.push_back(describe_plugin(p));
    }
    if (!found) {
        // A stage name is accepted too: show the plugin that has it.
        // (`batchproc plugins resize` with two plugins defining it: show both.)
        for (const LoadedPlugin &p : registry.plugins())
            for (size_t i = 0; i < p.descriptor->stage_count; ++i)
                if (name == p.descriptor->stages[i]->name || name == p.id + "." + p.descriptor->stages[i]->name) {
                    list.push_back(describe_plugin(p));
                    found = true;
                    break;
                }
    }
    if (!found) {
        spdlog::error("no plugin or stage named \"{}\" in the plugin path", name);
        return kExitUsage;
    }
    // The file formats the host reads and writes (save's `format` and `auto`), with the list.
    nlohmann::ordered_json formats;
    formats["read"] = readable_extensions();
    formats["write"] = writable_formats();
    if (json) {
        nlohmann::ordered_json out;
        out["plugins"] = list;
        out["formats"] = formats;
        out["errors"] = errors;
        std::printf("%s\n", out.dump(2).c_str());
    } else {
        for (size_t i = 0; i < list.size(); ++i) {
            if (i > 0) std::printf("\n");
            print_plugin_text(list[i]);
        }
        if (name.empty()) {
            const auto joined = [](const nlohmann::ordered_json &names) {
                std::string text;
                for (const auto &n : names) text += (text.empty() ? "" : ", ") + n.get<std::string>();
                return text;
            };
            std::printf("\nfile formats (by extension)\n  read:  %s\n  write: %s\n",
                        joined(formats["read"]).c_str(), joined(formats["write"]).c_str());
        }
        for (const std::string &e : errors) spdlog::warn("{}", e);
    }
    return kExitOk;
}

} // namespace batchproc::cli
