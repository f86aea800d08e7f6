// The one colour parser behind every colour parameter (pad, rotate, watermark, save).
#include "common.hpp"

#include <batchproc/plugin.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <vector>

namespace imgproc {

namespace {

const char *const kColourForms =
    "\"#rrggbb\", \"#rrggbbaa\", \"r,g,b\", \"r,g,b,a\" (0-255 each) or a name: black, white, gray, red, green, "
    "blue, transparent";

[[noreturn]] void bad_colour(const std::string &text, const char *param, const std::string &why) {
    throw batchproc::ParamError(std::string("parameter \"") + param + "\" " + why + ", got \"" + text +
                                "\"; write a colour as " + kColourForms);
}

std::string trim_lower(const std::string &text) {
    size_t begin = 0, end = text.size();
    while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
    while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
    std::string out = text.substr(begin, end - begin);
    for (char &c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

} // namespace

Rgba parse_colour(const std::string &text, const char *param) {
    const std::string s = trim_lower(text);
    if (s.empty()) bad_colour(text, param, "must be a colour");

    if (s == "black") return {0, 0, 0, 255};
    if (s == "white") return {255, 255, 255, 255};
    if (s == "gray" || s == "grey") return {128, 128, 128, 255};
    if (s == "red") return {255, 0, 0, 255};
    if (s == "green") return {0, 255, 0, 255};
    if (s == "blue") return {0, 0, 255, 255};
    if (s == "transparent") return {0, 0, 0, 0};

    if (s[0] == '#') {
        if (s.size() != 7 && s.size() != 9) bad_colour(text, param, "must have 6 or 8 hex digits after #");
        std::vector<double> parts;
        for (size_t i = 1; i < s.size(); i += 2) {
            const int hi = hex_digit(s[i]), lo = hex_digit(s[i + 1]);
            if (hi < 0 || lo < 0) bad_colour(text, param, "has a character that is not a hex digit");
            parts.push_back(hi * 16 + lo);
        }
        return {parts[0], parts[1], parts[2], parts.size() == 4 ? parts[3] : 255};
    }

    if (std::isdigit(static_cast<unsigned char>(s[0]))) {
        std::vector<double> parts;
        size_t pos = 0;
        while (pos <= s.size()) {
            const size_t comma = std::min(s.find(',', pos), s.size());
            const std::string item = trim_lower(s.substr(pos, comma - pos));
            char *end = nullptr;
            const long v = std::strtol(item.c_str(), &end, 10);
            if (item.empty() || end == nullptr || *end != '\0')
                bad_colour(text, param, "has a component that is not a whole number");
            if (v < 0 || v > 255) bad_colour(text, param, "has a component outside 0-255");
            parts.push_back(double(v));
            pos = comma + 1;
        }
        if (parts.size() != 3 && parts.size() != 4) bad_colour(text, param, "must have 3 or 4 components");
        return {parts[0], parts[1], parts[2], parts.size() == 4 ? parts[3] : 255};
    }

    bad_colour(text, param, "is not a colour");
}

cv::Scalar colour_scalar(const Rgba &colour, int depth, int channels) {
    const double k = max_value(depth) / 255.0;
    if (channels == 1) return cv::Scalar((0.299 * colour.r + 0.587 * colour.g + 0.114 * colour.b) * k);
    if (channels == 3) return cv::Scalar(colour.b * k, colour.g * k, colour.r * k);
    return cv::Scalar(colour.b * k, colour.g * k, colour.r * k, colour.a * k);
}

} // namespace imgproc
