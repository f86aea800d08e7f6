// A plugin with a stage named like a bundled one ("resize"): loaded together with imgproc,
// the short name is ambiguous and must be a config error; "shadow.resize" and
// "imgproc.resize" name each. Its stage records the metric `shadow`.
#include <batchproc/plugin.h>

namespace {

bp_status create(const bp_params *, void **state, bp_error *) noexcept {
    *state = nullptr;
    return BP_OK;
}
bp_status process(void *, const bp_host_api *host, bp_job *job, bp_error *) noexcept {
    host->set_metric_int(job, "shadow", 1);
    return BP_OK;
}
void destroy(void *) noexcept {}

const bp_stage_descriptor stage = {
    sizeof(bp_stage_descriptor), "resize", "Records the metric shadow (test stage).", 0, 0, nullptr,
    nullptr, &create, &process, &destroy, nullptr, nullptr};
const bp_stage_descriptor *const stages[] = {&stage};

const bp_plugin_descriptor descriptor = {sizeof(bp_plugin_descriptor), BP_API_VERSION_MAJOR, BP_API_VERSION_MINOR,
                                         "shadow", "1.0.0", "Test plugin whose stage shadows imgproc's resize.", 1,
                                         stages};

} // namespace

extern "C" BP_PLUGIN_EXPORT const bp_plugin_descriptor *bp_plugin_entry_v1(void) { return &descriptor; }
