#include "journal/recipe_stamp.hpp"

#include "engine/utf8_text.hpp"
#include "journal/file_identity.hpp"

#include <nlohmann/json.hpp>

namespace batchproc {

namespace {

// One parameter's value in a form that tells every value apart (JSON: strings quoted).
nlohmann::json value_of(const bp_param_value &v) {
    if (!v.is_set) return nullptr;
    switch (v.type) {
    case BP_PARAM_INT: return v.int_value;
    case BP_PARAM_FLOAT: return v.float_value;
    case BP_PARAM_BOOL: return v.bool_value != 0;
    default: return v.string_value != nullptr ? std::string(v.string_value) : std::string();
    }
}

} // namespace

std::string recipe_text(const RunSpec &spec, const PipelinePlan &plan) {
    // JSON lines: unambiguous whatever bytes a value holds.
    std::string text;
    // Texts that are not UTF-8 (a file name in a parameter) are escaped, never replaced: two
    // different names must give two different recipes.
    const auto line = [&](nlohmann::json j) {
        make_json_text_valid(j);
        text += j.dump() + "\n";
    };
    line({"batchproc", BATCHPROC_VERSION});
    const DecodeOptions &d = spec.input.decode;
    line({"decode", {{"exif_orientation", d.exif_orientation},
                     {"shrink_on_load", d.shrink_on_load},
                     {"damaged", d.damaged == DamagedPolicy::warn ? "warn" : "error"},
                     {"max_pixels", d.max_pixels},
                     {"colour", d.colour == ColourPolicy::ignore ? "ignore" : d.colour == ColourPolicy::keep ? "keep" : "srgb"}}});
    line({"output.name", spec.output.name});
    line({"output.metadata", static_cast<int>(spec.output.metadata), spec.output.strip_gps});
    for (const PlannedStage &stage : plan.stages) {
        nlohmann::json params = nlohmann::json::object();
        for (const bp_param_value &v : stage.params.values()) {
            params[v.name] = value_of(v);
            // A file a stage reads (a watermark's logo, a font) is part of the recipe by its
            // bytes: replacing it under the same name redoes the jobs.
            if (v.type == BP_PARAM_PATH && v.is_set && v.string_value != nullptr) {
                try {
                    params[std::string(v.name) + "#content"] = hash_file_content(v.string_value);
                } catch (const std::exception &) {
                    params[std::string(v.name) + "#content"] = nullptr; // the stage will say what is wrong
                }
            }
        }
        line({"stage", stage.ref.stage->name, stage.ref.plugin->id, stage.ref.plugin->version, params});
    }
    return text;
}

std::string recipe_stamp(const RunSpec &spec, const PipelinePlan &plan) { return hash_bytes(recipe_text(spec, plan)); }

} // namespace batchproc
