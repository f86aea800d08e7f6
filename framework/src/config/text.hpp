// Small text helpers shared by the config loader, units, job planning and bench.
#pragma once

#include <string>

namespace batchproc {

// ASCII lower case; other bytes (UTF-8 included) unchanged, whatever the locale.
inline std::string lower_ascii(std::string s) {
    for (char &c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

// Without leading and trailing ASCII white space.
inline std::string trim(const std::string &s) {
    const char *space = " \t\n\r\f\v";
    const size_t a = s.find_first_not_of(space);
    if (a == std::string::npos) return "";
    const size_t b = s.find_last_not_of(space);
    return s.substr(a, b - a + 1);
}

} // namespace batchproc
