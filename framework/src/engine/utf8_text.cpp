#include "engine/utf8_text.hpp"

#include <cstdint>

namespace batchproc {

namespace {

// Length of the valid UTF-8 sequence starting at text[i], or 0 when the byte there does not
// start one (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
size_t sequence_length(std::string_view text, size_t i) {
    const auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
    const uint8_t b0 = byte(i);
    if (b0 < 0x80) return 1;
    size_t n = 0;
    uint8_t lo = 0x80, hi = 0xBF; // allowed range of the second byte
    if (b0 >= 0xC2 && b0 <= 0xDF) n = 2;
    else if (b0 == 0xE0) n = 3, lo = 0xA0;
    else if (b0 >= 0xE1 && b0 <= 0xEC) n = 3;
    else if (b0 == 0xED) n = 3, hi = 0x9F;
    else if (b0 >= 0xEE && b0 <= 0xEF) n = 3;
    else if (b0 == 0xF0) n = 4, lo = 0x90;
    else if (b0 >= 0xF1 && b0 <= 0xF3) n = 4;
    else if (b0 == 0xF4) n = 4, hi = 0x8F;
    else return 0;
    if (i + n > text.size()) return 0;
    if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
    for (size_t k = 2; k < n; ++k)
        if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
    return n;
}

template <typename Json>
void fix_strings(Json &j) {
    if (j.is_string()) {
        const std::string &s = j.template get_ref<const std::string &>();
        if (!is_valid_utf8(s)) j = escape_invalid_utf8(s);
    } else if (j.is_array()) {
        for (auto &item : j) fix_strings(item);
    } else if (j.is_object()) {
        bool keys_valid = true;
        for (auto it = j.begin(); it != j.end(); ++it) {
            keys_valid = keys_valid && is_valid_utf8(it.key());
            fix_strings(it.value());
        }
        if (!keys_valid) {
            Json fixed = Json::object();
            for (auto it = j.begin(); it != j.end(); ++it) fixed[escape_invalid_utf8(it.key())] = std::move(it.value());
            j = std::move(fixed);
        }
    }
}

} // namespace

bool is_valid_utf8(std::string_view text) {
    for (size_t i = 0; i < text.size();) {
        const size_t n = sequence_length(text, i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

std::string escape_invalid_utf8(std::string_view text) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
        const size_t n = sequence_length(text, i);
        if (n > 0) {
            out.append(text.substr(i, n));
            i += n;
        } else {
            const auto b = static_cast<uint8_t>(text[i]);
            out += "\\x";
            out += digits[b >> 4];
            out += digits[b & 15];
            ++i;
        }
    }
    return out;
}

std::string_view cut_utf8(std::string_view text, size_t max_bytes) {
    if (text.size() <= max_bytes) return text;
    size_t end = max_bytes;
    // Back over continuation bytes to the start of the character the cut lands in; keep
    // that character only if it ends exactly at the cut.
    size_t start = end;
    while (start > 0 && (static_cast<uint8_t>(text[start]) & 0xC0) == 0x80 && end - start < 4) --start;
    if (start < end && sequence_length(text, start) > end - start) end = start;
    return text.substr(0, end);
}

std::string base64(std::string_view bytes) {
    static const char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const uint32_t v = uint32_t(uint8_t(bytes[i])) << 16 | uint32_t(uint8_t(bytes[i + 1])) << 8 | uint8_t(bytes[i + 2]);
        out += table[v >> 18];
        out += table[(v >> 12) & 63];
        out += table[(v >> 6) & 63];
        out += table[v & 63];
    }
    if (i < bytes.size()) {
        uint32_t v = uint32_t(uint8_t(bytes[i])) << 16;
        if (i + 1 < bytes.size()) v |= uint32_t(uint8_t(bytes[i + 1])) << 8;
        out += table[v >> 18];
        out += table[(v >> 12) & 63];
        out += i + 1 < bytes.size() ? table[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

std::string base64_decode(std::string_view text) {
    const auto value = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+') return 62;
        if (c == '/') return 63;
        return -1;
    };
    if (text.size() % 4 != 0) return "";
    std::string out;
    for (size_t i = 0; i < text.size(); i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; ++k) {
            const char c = text[i + size_t(k)];
            if (c == '=' && i + 4 == text.size() && k >= 2) {
                v[k] = 0;
                ++pad;
            } else if ((v[k] = value(c)) < 0 || pad > 0) {
                return "";
            }
        }
        const uint32_t n = uint32_t(v[0]) << 18 | uint32_t(v[1]) << 12 | uint32_t(v[2]) << 6 | uint32_t(v[3]);
        out += char(n >> 16);
        if (pad < 2) out += char((n >> 8) & 255);
        if (pad < 1) out += char(n & 255);
    }
    return out;
}

void make_json_text_valid(nlohmann::json &j) { fix_strings(j); }
void make_json_text_valid(nlohmann::ordered_json &j) { fix_strings(j); }

} // namespace batchproc
