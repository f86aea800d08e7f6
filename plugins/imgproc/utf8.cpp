#include "utf8.hpp"

#include <cstdio>
#include <stdexcept>

namespace imgproc {

std::u32string decode_utf8(const std::string &text) {
    std::u32string out;
    const auto *s = reinterpret_cast<const unsigned char *>(text.data());
    const size_t n = text.size();
    for (size_t i = 0; i < n;) {
        const unsigned char b = s[i];
        int extra = 0;
        char32_t cp = 0, min = 0;
        if (b < 0x80) {
            cp = b;
        } else if ((b & 0xe0) == 0xc0) {
            extra = 1, cp = b & 0x1f, min = 0x80;
        } else if ((b & 0xf0) == 0xe0) {
            extra = 2, cp = b & 0x0f, min = 0x800;
        } else if ((b & 0xf8) == 0xf0) {
            extra = 3, cp = b & 0x07, min = 0x10000;
        } else {
            throw std::invalid_argument("is not valid UTF-8 (byte " + std::to_string(i + 1) + ")");
        }
        for (int k = 1; k <= extra; ++k) {
            if (i + k >= n)
                throw std::invalid_argument("is not valid UTF-8 (it ends inside a character)");
            if ((s[i + k] & 0xc0) != 0x80)
                throw std::invalid_argument("is not valid UTF-8 (byte " + std::to_string(i + 1) + ")");
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            throw std::invalid_argument("is not valid UTF-8 (byte " + std::to_string(i + 1) + ")");
        out.push_back(cp);
        i += 1 + extra;
    }
    return out;
}

std::string encode_utf8(char32_t cp) {
    std::string out;
    if (cp < 0x80) {
        out += char(cp);
    } else if (cp < 0x800) {
        out += char(0xc0 | (cp >> 6));
        out += char(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out += char(0xe0 | (cp >> 12));
        out += char(0x80 | ((cp >> 6) & 0x3f));
        out += char(0x80 | (cp & 0x3f));
    } else {
        out += char(0xf0 | (cp >> 18));
        out += char(0x80 | ((cp >> 12) & 0x3f));
        out += char(0x80 | ((cp >> 6) & 0x3f));
        out += char(0x80 | (cp & 0x3f));
    }
    return out;
}

std::string code_point_name(char32_t cp) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(cp));
    return buf;
}

} // namespace imgproc
