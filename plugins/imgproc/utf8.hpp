// UTF-8 text as Unicode code points, for the watermark's text.
#pragma once

#include <string>

namespace imgproc {

// Decodes strict UTF-8 (no overlong forms, surrogates or values past U+10FFFF). Throws
// std::invalid_argument naming the byte offset of the first bad sequence.
std::u32string decode_utf8(const std::string &text);

// One code point as UTF-8 ("é"), for messages.
std::string encode_utf8(char32_t cp);

// "U+00E9", for messages.
std::string code_point_name(char32_t cp);

} // namespace imgproc
