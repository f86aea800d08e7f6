#include "codec/alpha_blend.hpp"

namespace batchproc {

AlphaBlender::AlphaBlender(const double (&background)[3]) : table_(3 * 256 * 256) {
    for (int ch = 0; ch < 3; ++ch)
        for (int a = 0; a < 256; ++a) {
            const float fa = static_cast<float>(a) / 255.0f;
            const float bg = static_cast<float>(background[ch]) * (1.0f - fa);
            uint8_t *entry = &table_[(size_t(ch) * 256 + size_t(a)) * 256];
            for (int v = 0; v < 256; ++v) entry[v] = cv::saturate_cast<uint8_t>(static_cast<float>(v) * fa + bg);
        }
}

void AlphaBlender::blend_row(const uint8_t *s, uint8_t *d, int width) const {
    const uint8_t *t = table_.data();
    for (int x = 0; x < width; ++x, s += 4, d += 3) {
        const size_t a = size_t(s[3]) * 256;
        d[0] = t[a + s[0]];
        d[1] = t[65536 + a + s[1]];
        d[2] = t[131072 + a + s[2]];
    }
}

cv::Mat flatten_alpha(const cv::Mat &image, const double (&background)[3]) {
    if (image.channels() != 4) return image;
    // Row by row: only the output is allocated (float images of the whole picture took
    // ~100 bytes a pixel).
    cv::Mat out(image.size(), CV_MAKETYPE(image.depth(), 3));
    if (image.depth() == CV_8U) {
        const AlphaBlender blender(background);
        for (int y = 0; y < image.rows; ++y) blender.blend_row(image.ptr<uint8_t>(y), out.ptr<uint8_t>(y), image.cols);
        return out;
    }
    if (image.depth() == CV_16U) {
        for (int y = 0; y < image.rows; ++y) {
            const uint16_t *s = image.ptr<uint16_t>(y);
            uint16_t *d = out.ptr<uint16_t>(y);
            for (int x = 0; x < image.cols; ++x, s += 4, d += 3) {
                const float fa = static_cast<float>(s[3]) / 65535.0f;
                for (int ch = 0; ch < 3; ++ch)
                    d[ch] = cv::saturate_cast<uint16_t>(static_cast<float>(s[ch]) * fa +
                                                        static_cast<float>(background[ch] * 257.0) * (1.0f - fa));
            }
        }
        return out;
    }
    // Float: alpha 0..1 (rare; kept simple).
    for (int y = 0; y < image.rows; ++y) {
        const float *s = image.ptr<float>(y);
        float *d = out.ptr<float>(y);
        for (int x = 0; x < image.cols; ++x, s += 4, d += 3)
            for (int ch = 0; ch < 3; ++ch)
                d[ch] = s[ch] * s[3] + static_cast<float>(background[ch] / 255.0) * (1.0f - s[3]);
    }
    return out;
}

} // namespace batchproc
