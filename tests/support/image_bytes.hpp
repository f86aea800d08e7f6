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

// Pixels of `type` (8- or 16-bit), uniformly random from `lo` up to the depth's maximum,
// the same for the same seed.
cv::Mat random_pixels(int w, int h, int type, uint64_t seed = 1, int lo = 0);

// Same type, size and values; a failure names the first of these that differs.
void expect_same_pixels(const cv::Mat &a, const cv::Mat &b);
#define EXPECT_SAME_PIXELS(a, b) batchproc::test::expect_same_pixels((a), (b))

// A real ICC profile to embed: Little CMS's sRGB, serialised.
std::vector<uint8_t> srgb_profile();

// Writes `bytes` to `path`, creating its folders; a failed expectation if it cannot.
void write_bytes(const std::filesystem::path &path, const std::vector<uint8_t> &bytes);
// The whole file (fails the test when it cannot be read).
std::vector<uint8_t> read_bytes(const std::filesystem::path &path);

} // namespace batchproc::test
