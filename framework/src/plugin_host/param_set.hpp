// Stage parameters validated against a stage's schema, in the C form create() takes.
#pragma once

#include "config/spec.hpp"

#include <batchproc/plugin.h>

#include <memory>
#include <string>
#include <vector>

namespace batchproc {

class ParamSet {
public:
    ParamSet() = default;
    ParamSet(const ParamSet &other);
    ParamSet &operator=(const ParamSet &other);
    ParamSet(ParamSet &&) = default;
    ParamSet &operator=(ParamSet &&) = default;

    // One value per schema entry, in schema order; strings point into this object.
    const bp_params *c_params() const { return &c_params_; }
    const std::vector<bp_param_value> &values() const { return values_; }
    const bp_param_value *find(const std::string &name) const;
    // The value as YAML would write it ("3", "area", "true"); "" when unset.
    std::string text(const std::string &name) const;

private:
    friend ParamSet validate_params(const bp_stage_descriptor &, const StageSpec &, const std::string &);
    void relink();

    std::vector<std::unique_ptr<std::string>> names_;
    std::vector<std::unique_ptr<std::string>> strings_;
    std::vector<bp_param_value> values_;
    bp_params c_params_{0, nullptr};
};

// Checks a stage's parameters as written against the stage's schema: unknown names (with
// a suggestion), types, ranges and choices; fills in defaults. `key` is the config path of
// the stage for messages ("pipeline[1].resize"). Throws ConfigError naming the parameter.
ParamSet validate_params(const bp_stage_descriptor &stage, const StageSpec &spec, const std::string &key);

const char *param_type_name(int32_t type);

} // namespace batchproc
