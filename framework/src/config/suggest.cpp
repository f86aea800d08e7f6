#include "config/suggest.hpp"

#include <algorithm>
#include <cctype>

namespace batchproc {

// Optimal string alignment distance: insertions, deletions, substitutions and swaps of
// two neighbouring letters ("fsat" -> "fast") each cost 1.
size_t edit_distance(const std::string &a, const std::string &b) {
    auto eq = [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
    };
    std::vector<size_t> before(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (eq(a[i - 1], b[j - 1]) ? 0 : 1)});
            if (i > 1 && j > 1 && eq(a[i - 1], b[j - 2]) && eq(a[i - 2], b[j - 1]))
                cur[j] = std::min(cur[j], before[j - 2] + 1);
        }
        before.swap(prev);
        prev.swap(cur);
    }
    return prev[b.size()];
}

std::string did_you_mean(const std::string &word, const std::vector<std::string> &candidates) {
    const std::string *best = nullptr;
    size_t best_distance = 0;
    for (const std::string &c : candidates) {
        const size_t d = edit_distance(word, c);
        if (best == nullptr || d < best_distance) {
            best = &c;
            best_distance = d;
        }
    }
    // Close enough to be a typo: a third of the word's length, at least 1, at most 3 edits;
    // or one name is a prefix of the other ("blur" -> "gaussian_blur" is not, "thresh" is).
    const size_t limit = std::clamp<size_t>(word.size() / 3, 1, 3);
    if (best == nullptr) return "";
    const bool prefix = word.size() >= 3 && best->rfind(word, 0) == 0;
    if (best_distance <= limit || prefix) return " (did you mean \"" + *best + "\"?)";
    return "";
}

} // namespace batchproc
