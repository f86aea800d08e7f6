#include "config/units.hpp"
#include "config/text.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>

namespace batchproc {

namespace {

const char *const kDurationForms =
    "write a number of seconds (\"90\", \"1.5\") or numbers with units ms, s, m, h, d "
    "(\"500ms\", \"60s\", \"2m\", \"1h30m\"); 0 means none";
const char *const kSizeForms =
    "write a number of bytes (\"1048576\") or a number with a unit: k, M, G, T (powers of 1000) "
    "or KiB, MiB, GiB, TiB (powers of 1024), e.g. \"512MiB\", \"1.5GB\", \"100k\"; 0 means none";
const char *const kPixelForms =
    "write a whole number of pixels (\"268435456\") or a number with k, M or G (powers of 1000) "
    "and an optional \"px\", e.g. \"268M\", \"100Mpx\"";

// A non-negative decimal as written: the whole part exactly (sizes need all 64 bits, which a
// double cannot hold) and the fraction separately.
struct Decimal {
    uint64_t whole = 0;
    bool whole_overflow = false;
    long double fraction = 0; // in [0, 1)
    bool has_fraction = false;
    long double value() const { return static_cast<long double>(whole) + fraction; }
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }
bool is_space(char c) { return c == ' ' || c == '\t'; }

// Reads digits[.digits] at `pos`; false when there is no digit at all.
bool read_decimal(const std::string &s, size_t &pos, Decimal &out) {
    out = Decimal{};
    size_t digits = 0;
    while (pos < s.size() && is_digit(s[pos])) {
        const uint64_t d = static_cast<uint64_t>(s[pos] - '0');
        if (out.whole > (std::numeric_limits<uint64_t>::max() - d) / 10) out.whole_overflow = true;
        else out.whole = out.whole * 10 + d;
        ++pos;
        ++digits;
    }
    if (pos < s.size() && s[pos] == '.') {
        ++pos;
        out.has_fraction = true;
        long double scale = 0.1L;
        while (pos < s.size() && is_digit(s[pos])) {
            out.fraction += scale * (s[pos] - '0');
            scale /= 10;
            ++pos;
            ++digits;
        }
    }
    return digits > 0;
}

std::string read_word(const std::string &s, size_t &pos) {
    const size_t start = pos;
    while (pos < s.size() && is_alpha(s[pos])) ++pos;
    return lower_ascii(s.substr(start, pos - start));
}

void skip_spaces(const std::string &s, size_t &pos) {
    while (pos < s.size() && is_space(s[pos])) ++pos;
}

[[noreturn]] void reject(const std::string &text, const char *what, const char *forms, const std::string &why = "") {
    throw std::invalid_argument("\"" + text + "\" is not " + what + ": " + (why.empty() ? "" : why + "; ") + forms);
}

// whole * multiplier + round(fraction * multiplier), or false on overflow.
bool scale_exact(const Decimal &d, uint64_t multiplier, uint64_t &out) {
    if (d.whole_overflow) return false;
    uint64_t product = 0;
    if (__builtin_mul_overflow(d.whole, multiplier, &product)) return false;
    const long double rest = std::round(d.fraction * static_cast<long double>(multiplier));
    return !__builtin_add_overflow(product, static_cast<uint64_t>(rest), &out);
}

// A number and one optional unit word from `units`, the whole text; the multiplier of that unit.
template <size_t N>
uint64_t parse_scaled(const std::string &text, const char *what, const char *forms,
                      const std::pair<const char *, uint64_t> (&units)[N], bool plain_fraction_ok) {
    const std::string s = trim(text);
    if (s.empty()) reject(text, what, forms, "it is empty");
    if (s[0] == '-') reject(text, what, forms, "it is negative");
    size_t pos = 0;
    Decimal number;
    if (!read_decimal(s, pos, number)) reject(text, what, forms);
    skip_spaces(s, pos);
    const std::string unit = read_word(s, pos);
    if (pos != s.size()) reject(text, what, forms);
    uint64_t multiplier = 0;
    for (const auto &u : units)
        if (unit == u.first) multiplier = u.second;
    if (multiplier == 0) reject(text, what, forms, "unknown unit \"" + s.substr(s.size() - unit.size()) + "\"");
    if (multiplier == 1 && number.has_fraction && number.fraction != 0 && !plain_fraction_ok)
        reject(text, what, forms, "a number without a multiplier must be whole");
    uint64_t result = 0;
    if (!scale_exact(number, multiplier, result)) reject(text, what, forms, "it is too large");
    return result;
}

std::string trim_zeros(std::string s) {
    if (s.find('.') == std::string::npos) return s;
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
}

// 268.4 -> "268", 1.5 -> "1.5", 2.0 -> "2": three significant digits are plenty for a person.
std::string short_number(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, v >= 100 ? "%.0f" : "%.1f", v);
    return trim_zeros(buf);
}

} // namespace

double parse_duration(const std::string &text) {
    static const std::pair<const char *, double> units[] = {
        {"ms", 0.001}, {"s", 1},      {"sec", 1},   {"secs", 1},    {"second", 1},    {"seconds", 1},
        {"m", 60},     {"min", 60},   {"mins", 60}, {"minute", 60}, {"minutes", 60},  {"h", 3600},
        {"hr", 3600},  {"hour", 3600}, {"hours", 3600}, {"d", 86400}, {"day", 86400}, {"days", 86400}};
    const char *what = "a duration";
    const std::string s = trim(text);
    if (s.empty()) reject(text, what, kDurationForms, "it is empty");
    if (s[0] == '-') reject(text, what, kDurationForms, "it is negative");
    size_t pos = 0;
    long double total = 0;
    bool first = true;
    // One or more number+unit parts ("1h30m"); a lone number without a unit is seconds.
    while (pos < s.size()) {
        Decimal number;
        if (!read_decimal(s, pos, number)) reject(text, what, kDurationForms);
        skip_spaces(s, pos);
        const std::string unit = read_word(s, pos);
        skip_spaces(s, pos);
        if (unit.empty()) {
            if (!first || pos != s.size()) reject(text, what, kDurationForms, "a number is missing its unit");
            total = number.value();
            break;
        }
        double factor = 0;
        for (const auto &u : units)
            if (unit == u.first) factor = u.second;
        if (factor == 0) reject(text, what, kDurationForms, "unknown unit \"" + unit + "\"");
        total += number.value() * factor;
        first = false;
    }
    if (!std::isfinite(static_cast<double>(total))) reject(text, what, kDurationForms, "it is too large");
    return static_cast<double>(total);
}

uint64_t parse_size(const std::string &text) {
    static const std::pair<const char *, uint64_t> units[] = {
        {"", 1},
        {"b", 1},
        {"k", 1000ULL},
        {"kb", 1000ULL},
        {"ki", 1ULL << 10},
        {"kib", 1ULL << 10},
        {"m", 1000'000ULL},
        {"mb", 1000'000ULL},
        {"mi", 1ULL << 20},
        {"mib", 1ULL << 20},
        {"g", 1000'000'000ULL},
        {"gb", 1000'000'000ULL},
        {"gi", 1ULL << 30},
        {"gib", 1ULL << 30},
        {"t", 1000'000'000'000ULL},
        {"tb", 1000'000'000'000ULL},
        {"ti", 1ULL << 40},
        {"tib", 1ULL << 40},
    };
    return parse_scaled(text, "a size", kSizeForms, units, false);
}

uint64_t parse_pixel_count(const std::string &text) {
    static const std::pair<const char *, uint64_t> units[] = {
        {"", 1},          {"px", 1},          {"k", 1000ULL},          {"kpx", 1000ULL},
        {"m", 1000'000ULL}, {"mpx", 1000'000ULL}, {"g", 1000'000'000ULL}, {"gpx", 1000'000'000ULL},
    };
    return parse_scaled(text, "a pixel count", kPixelForms, units, false);
}

std::string format_size(uint64_t bytes) {
    static const char *const names[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (bytes < 1024) return std::to_string(bytes) + " B";
    double v = static_cast<double>(bytes);
    int i = -1;
    while (v >= 1024 && i < 5) {
        v /= 1024;
        ++i;
    }
    return short_number(v) + " " + names[i];
}

std::string format_pixel_count(uint64_t pixels) {
    static const char *const names[] = {"kpx", "Mpx", "Gpx", "Tpx"};
    if (pixels < 1000) return std::to_string(pixels) + " px";
    double v = static_cast<double>(pixels);
    int i = -1;
    while (v >= 1000 && i < 3) {
        v /= 1000;
        ++i;
    }
    return short_number(v) + " " + names[i];
}

std::string format_duration(double seconds) {
    if (!(seconds > 0)) return "none";
    char buf[64];
    if (seconds < 1) {
        std::snprintf(buf, sizeof buf, "%.3f", seconds * 1000);
        return trim_zeros(buf) + "ms";
    }
    if (seconds < 60) {
        std::snprintf(buf, sizeof buf, "%.3f", seconds);
        return trim_zeros(buf) + "s";
    }
    // Whole seconds from here on: "1h30m" reads better than "5400.2s".
    uint64_t rest = static_cast<uint64_t>(std::llround(seconds));
    std::string out;
    const std::pair<const char *, uint64_t> parts[] = {{"d", 86400}, {"h", 3600}, {"m", 60}, {"s", 1}};
    for (const auto &p : parts) {
        if (rest >= p.second) {
            out += std::to_string(rest / p.second) + p.first;
            rest %= p.second;
        }
    }
    return out;
}

} // namespace batchproc
