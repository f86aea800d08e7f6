#pragma once

#include <string>
#include <vector>

namespace batchproc {

// " (did you mean \"resize\"?)" when one candidate is close to `word` (edit distance),
// otherwise "". Used for unknown keys, stage names, parameters and choices.
std::string did_you_mean(const std::string &word, const std::vector<std::string> &candidates);

// Levenshtein distance, case-insensitive.
size_t edit_distance(const std::string &a, const std::string &b);

} // namespace batchproc
