#include "pool/worker_entry.hpp"

#include "config/config_loader.hpp"
#include "plugin_host/pipeline.hpp"
#include "pool/result_buffer.hpp"
#include "pool/worker.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>

namespace batchproc {

int worker_main(int, char **) {
    const char *init = std::getenv(kWorkerInitEnv);
    if (init == nullptr) {
        std::fprintf(stderr, "batchproc: the worker role is started by batchproc itself (spawn start method)\n");
        return 2;
    }
    try {
        const nlohmann::json j = nlohmann::json::parse(init);
        const std::vector<std::string> overrides = j.at("overrides").get<std::vector<std::string>>();
        RunSpec spec = load_config(j.at("config").get<std::string>(), overrides);
        spec.overrides = overrides;
        PluginRegistry registry(spec.plugin_path);
        const PipelinePlan plan = plan_pipeline(spec, registry);
        ResultBuffer buffer = ResultBuffer::attach(kWorkerBufferFd);
        return run_worker(spec, plan, buffer);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "batchproc worker: %s\n", e.what());
        return 3;
    }
}

} // namespace batchproc
