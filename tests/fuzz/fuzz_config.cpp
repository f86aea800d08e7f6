// Fuzz target: the config loader, a YAML config text plus `--set` overrides
// (load_config_text, config/config_loader.hpp).
//
// Input format: the config text, then optionally a NUL byte and the overrides, one per
// line ('\n'-separated), each as typed after --set ("pool.workers=4",
// "pipeline[0].resize.max_side=128"). At most 8 overrides are used; empty lines are skipped.
// A plain YAML file is therefore an input of its own (a config without overrides).
//
// The loader's documented failure is ConfigError; anything else escaping it (a yaml-cpp
// exception, std::out_of_range...) is a finding and aborts.
#include "config/config_loader.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string input(reinterpret_cast<const char *>(data), size);
    const size_t nul = input.find('\0');
    const std::string yaml = input.substr(0, nul);
    std::vector<std::string> overrides;
    if (nul != std::string::npos) {
        size_t pos = nul + 1;
        while (pos <= input.size() && overrides.size() < 8) {
            size_t end = input.find('\n', pos);
            if (end == std::string::npos) end = input.size();
            if (end > pos) overrides.push_back(input.substr(pos, end - pos));
            pos = end + 1;
        }
    }
    try {
        // A folder that does not exist: relative paths resolve against it, and nothing is read.
        batchproc::load_config_text(yaml, "/nonexistent-fuzz/configs/fuzz.yaml", overrides);
    } catch (const batchproc::ConfigError &) {
    }
    return 0;
}
