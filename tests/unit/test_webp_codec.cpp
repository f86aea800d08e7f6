// decode_webp / encode_webp against OpenCV's WebP codec (the same libwebp): files from
// cv::imencode, an animation built here with libwebpmux, then damaged on purpose.
#include "codec/webp_codec.hpp"

#include "support/image_bytes.hpp"

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <webp/encode.h>
#include <webp/mux.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using batchproc::CodecImage;
using batchproc::decode_webp;
using batchproc::DecodeError;
using batchproc::encode_webp;
using batchproc::EncodeError;
using batchproc::EncodeOptions;
using batchproc::test::encode_image;
using batchproc::test::random_pixels;
using batchproc::test::srgb_profile;

namespace {

using Bytes = std::vector<uint8_t>;

// A photo-like image: smooth gradients plus a little texture, so that lossy coding and
// scaling behave as they would on real pictures.
cv::Mat photo(int w, int h, int channels = 3) {
    cv::Mat m(h, w, CV_8UC(channels));
    cv::Mat grain = random_pixels(w, h, CV_8UC1, 5);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            uint8_t *p = m.ptr<uint8_t>(y, x);
            const int g = grain.at<uint8_t>(y, x) / 16;
            p[0] = uint8_t(std::min(255, x * 255 / w + g));
            p[1] = uint8_t(std::min(255, y * 255 / h + g));
            p[2] = uint8_t(128 + 100 * std::sin((x + y) / 40.0));
            if (channels == 4) p[3] = uint8_t(40 + (x * 200) / w);
        }
    return m;
}

cv::Mat opencv_decode(const Bytes &b) { return cv::imdecode(b, cv::IMREAD_UNCHANGED); }

EncodeOptions lossy(int quality) {
    EncodeOptions o;
    o.quality = quality;
    return o;
}

EncodeOptions lossless() {
    EncodeOptions o;
    o.lossless = true;
    return o;
}

// ---- Encoding ----------------------------------------------------------------------------

TEST(WebpCodec, LosslessRoundTrips) {
    // Alpha >= 1: libwebp's lossless coder (exact = 0, as in cv::imencode) may change the
    // colour of fully transparent pixels.
    for (int channels : {3, 4}) {
        SCOPED_TRACE(channels);
        const cv::Mat image = random_pixels(45, 31, CV_8UC(channels), 3, 1);
        const Bytes webp = encode_webp(image, lossless(), {});
        EXPECT_SAME_PIXELS(decode_webp(webp.data(), webp.size(), 0).pixels, image);
        EXPECT_SAME_PIXELS(opencv_decode(webp), image);
    }
    const cv::Mat gray = random_pixels(20, 10, CV_8UC1);
    const Bytes webp = encode_webp(gray, lossless(), {});
    cv::Mat bgr;
    cv::cvtColor(gray, bgr, cv::COLOR_GRAY2BGR);
    EXPECT_SAME_PIXELS(decode_webp(webp.data(), webp.size(), 0).pixels, bgr);
}

TEST(WebpCodec, LosslessBytesAreThoseOfOpenCv) {
    for (int channels : {1, 3, 4}) {
        SCOPED_TRACE(channels);
        const cv::Mat image = photo(64, 40, channels == 1 ? 3 : channels);
        cv::Mat input = image;
        if (channels == 1) cv::cvtColor(image, input, cv::COLOR_BGR2GRAY);
        EXPECT_EQ(encode_webp(input, lossless(), {}), encode_image(".webp", input, {cv::IMWRITE_WEBP_QUALITY, 101}));
    }
}

double psnr(const cv::Mat &a, const cv::Mat &b) { return cv::PSNR(a, b); }

TEST(WebpCodec, LossyMatchesOpenCvAtTheSameQuality) {
    for (int channels : {1, 3, 4}) {
        for (int quality : {1, 50, 90, 100}) {
            SCOPED_TRACE("channels " + std::to_string(channels) + ", quality " + std::to_string(quality));
            cv::Mat image = photo(96, 64, channels == 4 ? 4 : 3);
            if (channels == 1) cv::cvtColor(image, image, cv::COLOR_BGR2GRAY);
            const Bytes ours = encode_webp(image, lossy(quality), {});
            const Bytes theirs = encode_image(".webp", image, {cv::IMWRITE_WEBP_QUALITY, quality});
            // Same library, same settings: the same bytes (so the PSNR below is infinite).
            EXPECT_EQ(ours, theirs);
            const cv::Mat a = opencv_decode(ours), b = opencv_decode(theirs);
            ASSERT_EQ(a.type(), b.type());
            EXPECT_GT(psnr(a, b), 45);
            // Lossy, but close to the input.
            cv::Mat reference = image;
            if (channels == 1) cv::cvtColor(image, reference, cv::COLOR_GRAY2BGR);
            if (quality >= 90) {
                EXPECT_GT(psnr(a, reference), 30);
            }
        }
    }
}

TEST(WebpCodec, RefusesWhatWebpCannotHold) {
    EXPECT_THROW(encode_webp(cv::Mat(), lossy(90), {}), EncodeError);
    EXPECT_THROW(encode_webp(cv::Mat(8, 8, CV_16UC3, cv::Scalar(1000)), lossy(90), {}), EncodeError);
    EXPECT_THROW(encode_webp(cv::Mat(8, 8, CV_8UC2, cv::Scalar(1, 2)), lossy(90), {}), EncodeError);
    EXPECT_THROW(encode_webp(cv::Mat(8, 8, CV_8UC3), lossy(0), {}), EncodeError);
    EXPECT_THROW(encode_webp(cv::Mat(8, 8, CV_8UC3), lossy(101), {}), EncodeError);
    try {
        encode_webp(cv::Mat(1, 16384, CV_8UC3, cv::Scalar(1, 2, 3)), lossy(90), {});
        FAIL() << "no EncodeError";
    } catch (const EncodeError &e) {
        EXPECT_NE(std::string(e.what()).find("16383"), std::string::npos) << e.what();
    }
}

TEST(WebpCodec, IccProfileRoundTripsByteForByte) {
    const Bytes icc = srgb_profile();
    for (int channels : {3, 4}) {
        for (bool exact : {false, true}) {
            SCOPED_TRACE("channels " + std::to_string(channels) + (exact ? ", lossless" : ", lossy"));
            const cv::Mat image = photo(40, 24, channels);
            const EncodeOptions options = exact ? lossless() : lossy(80);
            const Bytes plain = encode_webp(image, options, {});
            const Bytes tagged = encode_webp(image, options, icc);
            const CodecImage back = decode_webp(tagged.data(), tagged.size(), 0);
            EXPECT_EQ(back.icc, icc);
            // The profile changes the container, not the pixels.
            EXPECT_SAME_PIXELS(back.pixels, opencv_decode(plain));
            EXPECT_SAME_PIXELS(opencv_decode(tagged), opencv_decode(plain));
            EXPECT_TRUE(decode_webp(plain.data(), plain.size(), 0).icc.empty());
        }
    }
}

// ---- Decoding as OpenCV does -------------------------------------------------------------

TEST(WebpCodec, DecodesOpenCvFilesAsOpenCvDoes) {
    for (int channels : {3, 4}) {
        for (int quality : {30, 95, 101}) { // 101: lossless
            SCOPED_TRACE("channels " + std::to_string(channels) + ", quality " + std::to_string(quality));
            const Bytes webp = encode_image(".webp", photo(53, 37, channels), {cv::IMWRITE_WEBP_QUALITY, quality});
            const CodecImage ours = decode_webp(webp.data(), webp.size(), 0);
            EXPECT_SAME_PIXELS(ours.pixels, opencv_decode(webp));
            EXPECT_EQ(ours.scale_denominator, 1);
            EXPECT_TRUE(ours.warnings.empty());
        }
    }
}

// ---- Shrink-on-load ----------------------------------------------------------------------

TEST(WebpCodec, ScaledDecodeChoosesAnExactDivisor) {
    const Bytes webp = encode_webp(photo(800, 600), lossy(90), {});
    const CodecImage full = decode_webp(webp.data(), webp.size(), 0);
    ASSERT_EQ(full.pixels.size(), cv::Size(800, 600));

    const CodecImage small = decode_webp(webp.data(), webp.size(), 150);
    EXPECT_EQ(small.scale_denominator, 4); // 800/8 = 100 < 150
    ASSERT_EQ(small.pixels.size(), cv::Size(200, 150));
    cv::Mat reference;
    cv::resize(full.pixels, reference, cv::Size(200, 150), 0, 0, cv::INTER_AREA);
    EXPECT_GT(psnr(small.pixels, reference), 30);

    EXPECT_EQ(decode_webp(webp.data(), webp.size(), 90).scale_denominator, 8);
    EXPECT_EQ(decode_webp(webp.data(), webp.size(), 401).scale_denominator, 1); // 800/2 = 400 < 401
}

TEST(WebpCodec, NoReductionWithoutAnExactDivisor) {
    const Bytes odd = encode_webp(photo(801, 601), lossy(80), {});
    const CodecImage image = decode_webp(odd.data(), odd.size(), 150);
    EXPECT_EQ(image.scale_denominator, 1);
    EXPECT_EQ(image.pixels.size(), cv::Size(801, 601));
    // 802 x 602 is divisible by 2 only: 4 would be allowed by the size, 2 is taken.
    const Bytes even = encode_webp(photo(802, 602), lossy(80), {});
    const CodecImage half = decode_webp(even.data(), even.size(), 150);
    EXPECT_EQ(half.scale_denominator, 2);
    EXPECT_EQ(half.pixels.size(), cv::Size(401, 301));
}

TEST(WebpCodec, ScaledDecodeKeepsAlpha) {
    const Bytes webp = encode_webp(photo(64, 48, 4), lossless(), {});
    const CodecImage small = decode_webp(webp.data(), webp.size(), 16);
    EXPECT_EQ(small.scale_denominator, 4);
    EXPECT_EQ(small.pixels.type(), CV_8UC4);
    EXPECT_EQ(small.pixels.size(), cv::Size(16, 12));
}

// ---- Animation ---------------------------------------------------------------------------

Bytes animation(const std::vector<cv::Mat> &frames_bgra) {
    const int w = frames_bgra[0].cols, h = frames_bgra[0].rows;
    WebPAnimEncoderOptions options;
    WebPAnimEncoderOptionsInit(&options);
    WebPAnimEncoder *encoder = WebPAnimEncoderNew(w, h, &options);
    WebPConfig config;
    WebPConfigInit(&config);
    config.lossless = 1;
    int timestamp = 0;
    for (const cv::Mat &frame : frames_bgra) {
        WebPPicture pic;
        WebPPictureInit(&pic);
        pic.use_argb = 1;
        pic.width = w;
        pic.height = h;
        EXPECT_TRUE(WebPPictureImportBGRA(&pic, frame.data, int(frame.step[0])));
        EXPECT_TRUE(WebPAnimEncoderAdd(encoder, &pic, timestamp, &config));
        WebPPictureFree(&pic);
        timestamp += 100;
    }
    WebPAnimEncoderAdd(encoder, nullptr, timestamp, nullptr);
    WebPData data;
    WebPDataInit(&data);
    EXPECT_TRUE(WebPAnimEncoderAssemble(encoder, &data));
    Bytes out(data.bytes, data.bytes + data.size);
    WebPDataClear(&data);
    WebPAnimEncoderDelete(encoder);
    return out;
}

TEST(WebpCodec, AnimationGivesItsFirstFrameWithANote) {
    cv::Mat first = random_pixels(30, 20, CV_8UC4, 1, 1), second = random_pixels(30, 20, CV_8UC4, 2, 1);
    first.col(3).setTo(cv::Scalar(0, 0, 255, 128)); // some translucency: the file has alpha
    const Bytes webp = animation({first, second});
    const CodecImage image = decode_webp(webp.data(), webp.size(), 10);
    EXPECT_SAME_PIXELS(image.pixels, first);
    EXPECT_EQ(image.scale_denominator, 1); // no scaled decode for animations
    ASSERT_EQ(image.warnings.size(), 1u);
    EXPECT_NE(image.warnings[0].find("first of its 2 frames"), std::string::npos) << image.warnings[0];
    EXPECT_TRUE(opencv_decode(webp).empty()); // OpenCV 4.6 cannot read it at all
}

// ---- Damage ------------------------------------------------------------------------------

std::string decode_error(const Bytes &b, int hint = 0) {
    try {
        decode_webp(b.data(), b.size(), hint);
    } catch (const DecodeError &e) {
        return e.what();
    }
    return "";
}

TEST(WebpCodec, TruncatedFilesAreDecodeErrors) {
    for (bool exact : {false, true}) {
        const Bytes webp = encode_webp(photo(64, 48, 4), exact ? lossless() : lossy(80), srgb_profile());
        const Bytes cut(webp.begin(), webp.begin() + long(webp.size() * 3 / 4));
        EXPECT_EQ(decode_error(cut).rfind("truncated WebP file", 0), 0u) << decode_error(cut);
        for (size_t n = 0; n < webp.size(); n += 5) {
            const Bytes part(webp.begin(), webp.begin() + long(n));
            for (int hint : {0, 16}) EXPECT_FALSE(decode_error(part, hint).empty()) << "cut at " << n;
        }
    }
}

TEST(WebpCodec, CorruptFilesAreDecodeErrorsOrImages) {
    const Bytes webp = encode_webp(photo(48, 32, 4), lossy(70), srgb_profile());
    std::mt19937 rng(7);
    for (int i = 0; i < 300; ++i) {
        Bytes damaged = webp;
        for (int k = 0; k < 3; ++k) damaged[rng() % damaged.size()] ^= uint8_t(1 + rng() % 255);
        try {
            decode_webp(damaged.data(), damaged.size(), i % 2 ? 8 : 0);
        } catch (const DecodeError &e) {
            EXPECT_GT(std::strlen(e.what()), 10u);
        }
    }
    const Bytes animated = animation({random_pixels(8, 8, CV_8UC4, 1, 1), random_pixels(8, 8, CV_8UC4, 2, 1)});
    for (size_t n = 20; n < animated.size(); n += 9) {
        const Bytes part(animated.begin(), animated.begin() + long(n));
        try {
            decode_webp(part.data(), part.size(), 0);
        } catch (const DecodeError &) {}
    }
    EXPECT_EQ(decode_error(Bytes{}), "empty WebP file");
    EXPECT_FALSE(decode_error(Bytes{'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'A', 'V', 'E'}).empty());
}

} // namespace
