// Text that crosses into the report, the journal and fixed-size fields: file names need not
// be valid UTF-8 on Linux, and a cut can land inside a character. JSON needs valid UTF-8,
// so every string is made valid here without losing what it said.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace batchproc {

bool is_valid_utf8(std::string_view text);

// `text` with each byte that is not part of a valid UTF-8 sequence written as "\xNN"
// (two lowercase hex digits): "caf\xe9.jpg" stays readable and says which byte it was.
// Valid text comes back unchanged.
std::string escape_invalid_utf8(std::string_view text);

// The longest prefix of `text` of at most `max_bytes` bytes that does not end inside a
// UTF-8 sequence.
std::string_view cut_utf8(std::string_view text, size_t max_bytes);

// Standard base64 (RFC 4648, with padding): the lossless form of a path that is not UTF-8.
std::string base64(std::string_view bytes);
std::string base64_decode(std::string_view text); // "" for malformed input

// Makes every string (values and keys) in `j` valid UTF-8 with escape_invalid_utf8, so that
// dump() cannot throw.
void make_json_text_valid(nlohmann::json &j);
void make_json_text_valid(nlohmann::ordered_json &j);

} // namespace batchproc
