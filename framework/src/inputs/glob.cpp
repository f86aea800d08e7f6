#include "inputs/glob.hpp"

#include <cstdint>
#include <vector>

namespace batchproc {

namespace {

// Bytes that are not valid UTF-8 decode to values above the Unicode range, one per byte, so
// that they still compare byte for byte and '?' consumes them one at a time.
constexpr uint32_t invalid_base = 0x110000;

uint32_t decode_one(std::string_view s, size_t &i) {
    const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char lead = byte(i);
    size_t extra = 0;
    uint32_t cp = 0;
    if (lead < 0x80) {
        ++i;
        return lead;
    } else if ((lead & 0xE0) == 0xC0 && lead >= 0xC2) {
        extra = 1;
        cp = lead & 0x1Fu;
    } else if ((lead & 0xF0) == 0xE0) {
        extra = 2;
        cp = lead & 0x0Fu;
    } else if ((lead & 0xF8) == 0xF0 && lead <= 0xF4) {
        extra = 3;
        cp = lead & 0x07u;
    } else {
        ++i;
        return invalid_base + lead;
    }
    if (i + extra >= s.size()) { // truncated sequence
        ++i;
        return invalid_base + lead;
    }
    for (size_t k = 1; k <= extra; ++k) {
        if ((byte(i + k) & 0xC0) != 0x80) {
            ++i;
            return invalid_base + lead;
        }
        cp = (cp << 6) | (byte(i + k) & 0x3Fu);
    }
    i += extra + 1;
    return cp;
}

std::vector<uint32_t> decode(std::string_view s) {
    std::vector<uint32_t> out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) out.push_back(decode_one(s, i));
    return out;
}

uint32_t fold(uint32_t c) { return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c; }

struct Token {
    enum Kind { literal, any_one, star, klass } kind = literal;
    uint32_t ch = 0;                                  // literal: already case-folded
    bool negated = false;                             // klass
    std::vector<std::pair<uint32_t, uint32_t>> ranges; // klass: inclusive code point ranges
};

bool in_ranges(const Token &t, uint32_t c) {
    for (const auto &[lo, hi] : t.ranges)
        if (c >= lo && c <= hi) return true;
    return false;
}

bool class_matches(const Token &t, uint32_t c) {
    // Try both ASCII cases so that [A-Z], [a-z] and [A-z] all ignore case.
    bool hit = in_ranges(t, c);
    if (!hit && c < 0x80) {
        const uint32_t lower = fold(c);
        const uint32_t upper = (c >= 'a' && c <= 'z') ? c - 'a' + 'A' : c;
        hit = in_ranges(t, lower) || in_ranges(t, upper);
    }
    return hit != t.negated;
}

// Parses a '[' class starting at pattern[pos] ('[' itself). Returns false when the class
// has no closing ']', in which case the '[' is a literal.
bool parse_class(const std::vector<uint32_t> &p, size_t &pos, Token &out) {
    size_t i = pos + 1;
    Token t;
    t.kind = Token::klass;
    if (i < p.size() && (p[i] == '!' || p[i] == '^')) {
        t.negated = true;
        ++i;
    }
    const size_t first = i;
    while (i < p.size() && (p[i] != ']' || i == first)) {
        uint32_t lo = p[i];
        uint32_t hi = lo;
        if (i + 2 < p.size() && p[i + 1] == '-' && p[i + 2] != ']') {
            hi = p[i + 2];
            i += 3;
        } else {
            ++i;
        }
        if (lo <= hi) t.ranges.emplace_back(lo, hi); // a reversed range matches nothing
    }
    if (i >= p.size()) return false;
    pos = i + 1;
    out = std::move(t);
    return true;
}

std::vector<Token> compile(const std::vector<uint32_t> &p) {
    std::vector<Token> tokens;
    for (size_t i = 0; i < p.size();) {
        Token t;
        if (p[i] == '*') {
            // Consecutive stars are one star: keeps the matcher's single backtrack point valid.
            if (tokens.empty() || tokens.back().kind != Token::star) {
                t.kind = Token::star;
                tokens.push_back(t);
            }
            ++i;
        } else if (p[i] == '?') {
            t.kind = Token::any_one;
            tokens.push_back(t);
            ++i;
        } else if (p[i] == '[' && parse_class(p, i, t)) {
            tokens.push_back(std::move(t));
        } else {
            t.ch = fold(p[i]);
            tokens.push_back(t);
            ++i;
        }
    }
    return tokens;
}

bool token_matches(const Token &t, uint32_t c) {
    if (c == '/') return t.kind == Token::literal && t.ch == '/';
    switch (t.kind) {
    case Token::literal: return t.ch == fold(c);
    case Token::any_one: return true;
    case Token::klass: return class_matches(t, c);
    case Token::star: return false;
    }
    return false;
}

} // namespace

bool glob_match(std::string_view pattern, std::string_view text) {
    const std::vector<Token> tokens = compile(decode(pattern));
    const std::vector<uint32_t> s = decode(text);

    // The classic greedy matcher with one backtrack point (the last star seen). It is exact
    // because every non-star token consumes exactly one character. A star may not swallow
    // a '/': when it would have to, the match fails, since an earlier star cannot cross
    // that '/' either.
    size_t ti = 0, si = 0;
    size_t star_ti = SIZE_MAX, star_si = 0;
    while (si < s.size()) {
        if (ti < tokens.size() && tokens[ti].kind == Token::star) {
            star_ti = ti++;
            star_si = si;
        } else if (ti < tokens.size() && token_matches(tokens[ti], s[si])) {
            ++ti;
            ++si;
        } else if (star_ti != SIZE_MAX && s[star_si] != '/') {
            ti = star_ti + 1;
            si = ++star_si;
        } else {
            return false;
        }
    }
    while (ti < tokens.size() && tokens[ti].kind == Token::star) ++ti;
    return ti == tokens.size();
}

bool glob_match_entry(std::string_view pattern, std::string_view rel_path) {
    if (pattern.find('/') != std::string_view::npos) return glob_match(pattern, rel_path);
    const size_t slash = rel_path.rfind('/');
    return glob_match(pattern, slash == std::string_view::npos ? rel_path : rel_path.substr(slash + 1));
}

} // namespace batchproc
