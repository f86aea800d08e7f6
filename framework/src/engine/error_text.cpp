#include "engine/error_text.hpp"

#include "config/units.hpp"

#include <cstdlib>

namespace batchproc {

namespace {

// OpenCV's cv::Exception::what(): "OpenCV(<version>) <file>:<line>: error: (<code>:<name>) <text>".
std::string opencv_gist(const std::string &text) {
    if (text.rfind("OpenCV(", 0) != 0) return text;
    const size_t open = text.find("error: (");
    if (open == std::string::npos) return text;
    const size_t colon = text.find(':', open + 8);
    const size_t close = text.find(") ", open + 8);
    if (colon == std::string::npos || close == std::string::npos || colon > close) return text;
    const std::string name = text.substr(colon + 1, close - colon - 1);
    const std::string detail = text.substr(close + 2);
    if (name == "Insufficient memory") {
        const size_t at = detail.find("allocate ");
        if (at != std::string::npos) {
            const unsigned long long bytes = std::strtoull(detail.c_str() + at + 9, nullptr, 10);
            if (bytes > 0) return "out of memory allocating " + format_size(bytes);
        }
        return "out of memory";
    }
    return "OpenCV: " + name + ": " + detail;
}

std::string one_line(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\r') continue;
        if (text[i] == '\n') {
            out += "; ";
            while (i + 1 < text.size() && (text[i + 1] == '\n' || text[i + 1] == ' ')) ++i;
        } else {
            out += text[i];
        }
    }
    return out;
}

} // namespace

std::string stage_error_text(const std::string &stage, const std::string &message) {
    std::string text = one_line(opencv_gist(message));
    const std::string prefix = stage + ": ";
    while (text.rfind(prefix, 0) == 0 && text.size() > prefix.size() &&
           text.compare(prefix.size(), prefix.size(), prefix) == 0)
        text.erase(0, prefix.size()); // "crop: crop: ..." -> "crop: ..."
    return text.rfind(prefix, 0) == 0 ? text : prefix + text;
}

} // namespace batchproc
