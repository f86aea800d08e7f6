// Image files as bytes, for tests that build their own fixtures (good and damaged).
#pragma once

#include <opencv2/core.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace batchproc::test {

// The file cv::imencode makes for `ext` (".jpg", ".png", ...); a failed expectation if it
// cannot.
std::vector<uint8_t> encode_image(const std::string &ext, const cv::Mat &image, const std::vector<int> &params = {});

// The CRC-32 PNG chunks carry (over the chunk type and data), computed independently of
// the code under test.
uint32_t png_crc32(const uint8_t *data, size_t size);

// Writes `bytes` to `path`, creating its folders; a failed expectation if it cannot.
void write_bytes(const std::filesystem::path &path, const std::vector<uint8_t> &bytes);
// The whole file (fails the test when it cannot be read).
std::vector<uint8_t> read_bytes(const std::filesystem::path &path);

} // namespace batchproc::test
