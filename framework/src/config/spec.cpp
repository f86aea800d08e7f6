#include "config/spec.hpp"

#include <cstdio>

namespace batchproc {

std::string SourceMark::to_string() const {
    if (line <= 0) return file;
    return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

static std::string format_config_error(const SourceMark &mark, const std::string &key, const std::string &message) {
    std::string text = mark.to_string();
    if (!text.empty()) text += ": ";
    if (!key.empty()) text += key + ": ";
    return text + message;
}

ConfigError::ConfigError(SourceMark mark, std::string key, const std::string &message)
    : std::runtime_error(format_config_error(mark, key, message)), mark_(std::move(mark)), key_(std::move(key)),
      message_(message) {}

const char *to_string(PoolMode mode) {
    switch (mode) {
    case PoolMode::serial: return "serial";
    case PoolMode::threads: return "threads";
    case PoolMode::processes: return "processes";
    }
    return "?";
}

const char *to_string(StartMethod method) {
    switch (method) {
    case StartMethod::fork: return "fork";
    case StartMethod::spawn: return "spawn";
    case StartMethod::forkserver: return "forkserver";
    }
    return "?";
}

} // namespace batchproc

namespace batchproc {

std::filesystem::path shard_file(const std::filesystem::path &path, const ShardSpec &shard) {
    if (!shard.sharded()) return path;
    char suffix[40];
    std::snprintf(suffix, sizeof suffix, ".shard-%04d-of-%04d", shard.index, shard.count);
    return path.parent_path() / (path.stem().string() + suffix + path.extension().string());
}

} // namespace batchproc
