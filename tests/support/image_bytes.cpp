#include "support/image_bytes.hpp"

#include <gtest/gtest.h>
#include <lcms2.h>
#include <opencv2/imgcodecs.hpp>

#include <fstream>
#include <iterator>

namespace batchproc::test {

std::vector<uint8_t> encode_image(const std::string &ext, const cv::Mat &image, const std::vector<int> &params) {
    std::vector<uint8_t> out;
    if (!cv::imencode(ext, image, out, params)) ADD_FAILURE() << "cv::imencode failed for " << ext;
    return out;
}

void write_bytes(const std::filesystem::path &path, const std::vector<uint8_t> &bytes) {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char *>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!out) ADD_FAILURE() << "cannot write " << path;
}

cv::Mat random_pixels(int w, int h, int type, uint64_t seed, int lo) {
    cv::Mat m(h, w, type);
    cv::RNG rng(seed);
    rng.fill(m, cv::RNG::UNIFORM, lo, CV_MAT_DEPTH(type) == CV_16U ? 65536 : 256);
    return m;
}

void expect_same_pixels(const cv::Mat &a, const cv::Mat &b) {
    ASSERT_EQ(a.type(), b.type());
    ASSERT_EQ(a.size(), b.size());
    EXPECT_EQ(cv::norm(a, b, cv::NORM_INF), 0);
}

std::vector<uint8_t> srgb_profile() {
    cmsHPROFILE profile = cmsCreate_sRGBProfile();
    cmsUInt32Number size = 0;
    std::vector<uint8_t> bytes;
    if (profile && cmsSaveProfileToMem(profile, nullptr, &size) && size > 0) {
        bytes.resize(size);
        if (!cmsSaveProfileToMem(profile, bytes.data(), &size)) bytes.clear();
    }
    if (profile) cmsCloseProfile(profile);
    if (bytes.empty()) ADD_FAILURE() << "Little CMS could not serialise its sRGB profile";
    return bytes;
}

std::vector<uint8_t> read_bytes(const std::filesystem::path &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) ADD_FAILURE() << "cannot read " << path;
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
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
