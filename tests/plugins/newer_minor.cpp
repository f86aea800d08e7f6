// A plugin built for the next minor version of the plugin API (1.1 against a 1.0 host): it
// may rely on fields this host does not fill, so the host must refuse to load it, naming the
// file and both versions. Written by hand against plugin.h, as a
// plugin built with another SDK would look.
#include <batchproc/plugin.h>

namespace {

bp_status create(const bp_params *, void **state, bp_error *) noexcept {
    *state = nullptr;
    return BP_OK;
}
bp_status process(void *, const bp_host_api *, bp_job *, bp_error *) noexcept { return BP_OK; }
void destroy(void *) noexcept {}

const bp_stage_descriptor stage = {
    sizeof(bp_stage_descriptor), "newer_minor_stage", "Never loaded: needs a newer minor API.", 0, 0, nullptr,
    nullptr, &create, &process, &destroy};
const bp_stage_descriptor *const stages[] = {&stage};

const bp_plugin_descriptor descriptor = {
    sizeof(bp_plugin_descriptor), BP_API_VERSION_MAJOR, BP_API_VERSION_MINOR + 1, "newer_minor", "1.0.0",
    "Test plugin built for the next minor plugin API.", 1, stages};

} // namespace

extern "C" BP_PLUGIN_EXPORT const bp_plugin_descriptor *bp_plugin_entry_v1(void) { return &descriptor; }
