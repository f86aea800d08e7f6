#include "support/image_bytes.hpp"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

namespace batchproc::test {

std::vector<uint8_t> encode_image(const std::string &ext, const cv::Mat &image, const std::vector<int> &params) {
    std::vector<uint8_t> out;
    if (!cv::imencode(ext, image, out, params)) ADD_FAILURE() << "cv::imencode failed for " << ext;
    return out;
}

uint32_t png_crc32(const uint8_t *data, size_t size) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < size; ++i) {
        c ^= data[i];
        for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return ~c;
}

} // namespace batchproc::test
