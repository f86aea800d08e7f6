// A job's error as one readable sentence: a stage's message as it came across the plugin
// boundary may carry its own "stage: " prefix, a library's raw text (OpenCV's
// "OpenCV(4.6.0) /build/.../alloc.cpp:73: error: (-4:Insufficient memory) Failed to
// allocate 102760448 bytes in function ..."), or line breaks.
#pragma once

#include <string>

namespace batchproc {

// "<stage>: <message>", with the message made one line, OpenCV's raw text turned into its
// gist ("out of memory allocating 98 MiB", "OpenCV: Assertion failed: ... in function
// 'resize'") and no second "<stage>: " when the message already starts with one.
std::string stage_error_text(const std::string &stage, const std::string &message);

} // namespace batchproc
