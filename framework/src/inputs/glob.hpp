// Shell-style wildcard matching for input.include / input.exclude.
#pragma once

#include <string_view>

namespace batchproc {

// Matches `text` against `pattern`, the whole of it:
//   *      any run of characters (possibly empty) that does not cross '/'
//   ?      exactly one character: one UTF-8 code point, never '/'
//   [abc]  one of the listed characters; [a-z] ranges (by code point); [!x] or [^x] negates;
//          a ']' first in the class, or a '-' first or last, is literal
// Matching ignores ASCII case ("*.jpg" matches "A.JPG"); other UTF-8 bytes compare as is.
// There is no escape character: write [*], [?] or [[] for a literal wildcard character.
// A '[' without its closing ']' is a literal '['. '/' matches only a literal '/', so a
// pattern and a text with a different number of '/' never match.
// Time is O(pattern * text) at worst, with no exponential backtracking.
bool glob_match(std::string_view pattern, std::string_view text);

// The rule that include/exclude use: a pattern holding a '/' matches the path relative to
// the input root ('/'-separated), any other pattern matches the file (or folder) name alone.
bool glob_match_entry(std::string_view pattern, std::string_view rel_path);

} // namespace batchproc
