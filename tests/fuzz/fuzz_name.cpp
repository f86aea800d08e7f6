// Fuzz target: the output-name template (output.name, and a save stage's own name), parsed
// and expanded by the planner (inputs/job_plan.hpp).
//
// Input format: the template, then optionally a NUL byte and a second template, the own
// name of a second output stage (empty or absent: that stage uses output.name too).
//
// expand_output_name runs on fixed placeholder values, plan_jobs on two fake inputs under a
// folder that does not exist ("/nonexistent-fuzz/in/a b/Photo.Final.JPG" and
// "/nonexistent-fuzz/in/README") with output.dir "/nonexistent-fuzz/out", so the checks for
// links and for outputs landing on inputs look at nothing real. Documented failure:
// ConfigError. Checked: every planned output lies inside output.dir, as the planner promises.
#include "config/spec.hpp"
#include "inputs/job_plan.hpp"
#include "io/path_safety.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

void check(bool ok, const char *what) {
    if (ok) return;
    std::fprintf(stderr, "fuzz_name: %s\n", what);
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    using namespace batchproc;
    namespace fs = std::filesystem;
    const std::string input(reinterpret_cast<const char *>(data), size);
    const size_t nul = input.find('\0');
    const std::string tmpl = input.substr(0, nul);
    const std::string own = nul == std::string::npos ? std::string() : input.substr(nul + 1);

    try {
        OutputNameFields f;
        f.stem = "Photo.Final";
        f.name = "Photo.Final.JPG";
        f.ext = "webp";
        f.src_ext = "jpg";
        f.rel_dir = "a b/c";
        f.index = 1234;
        expand_output_name(tmpl, f);
        expand_output_name(tmpl, OutputNameFields{"README", "README", "", "", "", 0});
    } catch (const ConfigError &) {
    }

    RunSpec spec;
    spec.config_path = "/nonexistent-fuzz/fuzz.yaml";
    spec.base_dir = "/nonexistent-fuzz";
    spec.input.paths = {"/nonexistent-fuzz/in"};
    spec.output.dir = "/nonexistent-fuzz/out";
    spec.output.name = tmpl;
    std::vector<InputFile> files(2);
    files[0].path = "/nonexistent-fuzz/in/a b/Photo.Final.JPG";
    files[0].root = "/nonexistent-fuzz/in";
    files[0].rel_dir = "a b";
    files[1].path = "/nonexistent-fuzz/in/README";
    files[1].root = "/nonexistent-fuzz/in";
    std::vector<OutputSlot> slots(2);
    slots[0].stage = 1;
    slots[0].ext = "png";
    slots[0].stage_key = "pipeline[1].save";
    slots[1].stage = 2;
    slots[1].name = own;
    slots[1].name_key = "pipeline[2].save.name";
    slots[1].stage_key = "pipeline[2].save";
    try {
        const std::vector<PlannedJob> jobs = plan_jobs(spec, files, slots);
        check(jobs.size() == files.size(), "plan_jobs made a job count other than the input count");
        const fs::path out = normal_absolute(spec.output.dir);
        for (const PlannedJob &job : jobs) {
            check(job.outputs.size() == slots.size(), "a job without one output per output stage");
            for (const fs::path &o : job.outputs) {
                check(o.is_absolute(), "an output path is not absolute");
                check(is_within(normal_absolute(o), out) && normal_absolute(o) != out, "an output outside output.dir");
            }
        }
    } catch (const ConfigError &) {
    }
    return 0;
}
