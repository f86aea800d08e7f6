// A well-formed plugin written against the plain C ABI (plugin.h only, no C++ helpers),
// with one parameter of every type. Its stage echoes what it was given as metrics, so tests
// can see exactly what crossed the boundary: validated parameters (defaults filled in), the
// job's index, input path and image.
//
// Stage abi_probe:
//   count   int    default 3, range [0, 100]
//   gain    float  default 1.5, range [0, 10]
//   enabled bool   default true
//   label   string default "probe"; "fail" makes process() return an error
//   mode    choice fast | slow | exact, default fast
//   seed    int    no default (optional); create() requires it when mode is exact
#include <batchproc/plugin.h>

#include <cstddef>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

namespace {

const char *const mode_choices[] = {"fast", "slow", "exact", nullptr};

const bp_param_schema p_count = {sizeof(bp_param_schema), "count", BP_PARAM_INT, "3", 1, 0, 100, nullptr,
                                 "how many"};
const bp_param_schema p_gain = {sizeof(bp_param_schema), "gain", BP_PARAM_FLOAT, "1.5", 1, 0, 10, nullptr,
                                "a factor"};
const bp_param_schema p_enabled = {sizeof(bp_param_schema), "enabled", BP_PARAM_BOOL, "true", 0, 0, 0, nullptr,
                                   "a switch"};
const bp_param_schema p_label = {sizeof(bp_param_schema), "label", BP_PARAM_STRING, "probe", 0, 0, 0, nullptr,
                                 "free text; \"fail\" makes every job fail"};
const bp_param_schema p_mode = {sizeof(bp_param_schema), "mode", BP_PARAM_CHOICE, "fast", 0, 0, 0, mode_choices,
                                "a choice"};
const bp_param_schema p_seed = {sizeof(bp_param_schema), "seed", BP_PARAM_INT, nullptr, 0, 0, 0, nullptr,
                                "optional; required when mode is exact"};
const bp_param_schema *const params[] = {&p_count, &p_gain, &p_enabled, &p_label, &p_mode, &p_seed};

struct Probe {
    int64_t count = 0;
    double gain = 0;
    bool enabled = false;
    std::string label;
    std::string mode;
    bool seed_set = false;
    int64_t seed = 0;
};

void set_error(bp_error *err, const char *text) {
    if (err != nullptr) std::snprintf(err->message, sizeof err->message, "%s", text);
}

bp_status create(const bp_params *given, void **state, bp_error *err) noexcept {
    try { // nothing may escape a boundary function
        Probe p;
        for (size_t i = 0; given != nullptr && i < given->count; ++i) {
            const bp_param_value &v = given->values[i];
            if (!v.is_set) continue;
            if (std::strcmp(v.name, "count") == 0) p.count = v.int_value;
            if (std::strcmp(v.name, "gain") == 0) p.gain = v.float_value;
            if (std::strcmp(v.name, "enabled") == 0) p.enabled = v.bool_value != 0;
            if (std::strcmp(v.name, "label") == 0) p.label = v.string_value;
            if (std::strcmp(v.name, "mode") == 0) p.mode = v.string_value;
            if (std::strcmp(v.name, "seed") == 0) {
                p.seed_set = true;
                p.seed = v.int_value;
            }
        }
        if (p.mode == "exact" && !p.seed_set) {
            set_error(err, "mode exact needs a seed: add seed: <integer>");
            return BP_ERROR;
        }
        *state = new Probe(std::move(p));
        return BP_OK;
    } catch (...) {
        set_error(err, "abi_probe could not be created");
        return BP_ERROR;
    }
}

bp_status process(void *state, const bp_host_api *host, bp_job *job, bp_error *err) noexcept {
    const Probe &p = *static_cast<const Probe *>(state);
    if (p.label == "fail") {
        set_error(err, "abi_probe failed on purpose (label is \"fail\")");
        return BP_ERROR;
    }
    host->set_metric_int(job, "count", p.count);
    host->set_metric_float(job, "gain", p.gain);
    host->set_metric_int(job, "enabled", p.enabled ? 1 : 0);
    host->set_metric_string(job, "label", p.label.c_str());
    host->set_metric_string(job, "mode", p.mode.c_str());
    host->set_metric_int(job, "seed_set", p.seed_set ? 1 : 0);
    if (p.seed_set) host->set_metric_int(job, "seed", p.seed);
    host->set_metric_int(job, "index", host->job_index(job));
    host->set_metric_string(job, "input_path", host->input_path(job));
    bp_image image{};
    const int has_image = host->get_image(job, &image);
    host->set_metric_int(job, "has_image", has_image);
    if (has_image) {
        host->set_metric_int(job, "width", image.width);
        host->set_metric_int(job, "height", image.height);
    }
    if (p.count == 0) host->warn(job, "count is 0");
    return BP_OK;
}

void destroy(void *state) noexcept { delete static_cast<Probe *>(state); }

// Laid out as API 1.1 had it (no name_param): a plugin built before 1.2 still loads.
const bp_stage_descriptor stage = {offsetof(bp_stage_descriptor, name_param),
                                   "abi_probe",
                                   "Echoes its parameters and job as metrics (test stage).",
                                   0,
                                   sizeof params / sizeof params[0],
                                   params,
                                   nullptr,
                                   &create,
                                   &process,
                                   &destroy};
const bp_stage_descriptor *const stages[] = {&stage};

const bp_plugin_descriptor descriptor = {sizeof(bp_plugin_descriptor),
                                         BP_API_VERSION_MAJOR,
                                         BP_API_VERSION_MINOR,
                                         "abi_probe",
                                         "0.1.0",
                                         "Test plugin written against the plain C ABI.",
                                         1,
                                         stages};

} // namespace

extern "C" BP_PLUGIN_EXPORT const bp_plugin_descriptor *bp_plugin_entry_v1(void) { return &descriptor; }
