// The heif codec module (libheif) on images made here: AVIF and HEIC written by the module
// itself, files with transforms or premultiplied alpha written with libheif directly, and
// damaged copies of them.
#include "codec/codec_module.hpp"
#include "support/image_bytes.hpp"

#include <gtest/gtest.h>
#include <libheif/heif.h>
#include <opencv2/core.hpp>

#include <dlfcn.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

using batchproc::CodecModuleApi;
using batchproc::EncodeOptions;

namespace {

using Bytes = std::vector<uint8_t>;
using batchproc::test::srgb_profile;

const CodecModuleApi &heif() { return batchproc::codec_module("heif"); }

// Gradients under saturated patches: smooth areas a lossy codec keeps close, and edges and
// pure colours that a wrong channel order or matrix would spoil.
cv::Mat test_image(int width = 96, int height = 64) {
    cv::Mat m(height, width, CV_8UC3);
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x)
            m.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uint8_t>(x * 255 / std::max(1, width - 1)),
                                              static_cast<uint8_t>(y * 255 / std::max(1, height - 1)),
                                              static_cast<uint8_t>((x + y) * 255 / std::max(1, width + height - 2)));
    if (width >= 48 && height >= 32) {
        m(cv::Rect(4, 4, 16, 12)).setTo(cv::Scalar(0, 0, 255));   // red
        m(cv::Rect(24, 4, 16, 12)).setTo(cv::Scalar(0, 255, 0));  // green
        m(cv::Rect(4, 20, 16, 12)).setTo(cv::Scalar(255, 0, 0));  // blue
        m(cv::Rect(24, 20, 16, 12)).setTo(cv::Scalar(255, 255, 255));
    }
    return m;
}

cv::Mat with_alpha(const cv::Mat &bgr) {
    cv::Mat alpha(bgr.size(), CV_8UC1);
    for (int y = 0; y < alpha.rows; ++y)
        for (int x = 0; x < alpha.cols; ++x) alpha.at<uint8_t>(y, x) = static_cast<uint8_t>(x * 255 / (alpha.cols - 1));
    cv::Mat bgra;
    cv::merge(std::vector<cv::Mat>{bgr, alpha}, bgra);
    return bgra;
}

// The image's samples widened to 16 bits (v * 257), as a 16-bit source would hold them.
cv::Mat to_16_bits(const cv::Mat &image) {
    cv::Mat out;
    image.convertTo(out, CV_16U, 257.0);
    return out;
}

EncodeOptions lossless() {
    EncodeOptions o;
    o.lossless = true;
    return o;
}

Bytes encode(const cv::Mat &image, const std::string &format, const EncodeOptions &options = {}, const Bytes &icc = {}) {
    Bytes out;
    std::string error;
    EXPECT_TRUE(heif().encode(image, format, options, icc, out, error)) << format << ": " << error;
    EXPECT_FALSE(out.empty()) << format;
    return out;
}

struct Decoded {
    bool ok = false;
    cv::Mat pixels;
    Bytes icc;
    std::string error;
};

Decoded decode(const Bytes &file) {
    Decoded d;
    batchproc::CodecImage image;
    d.ok = heif().decode(file.data(), file.size(), image, d.error);
    d.pixels = image.pixels;
    d.icc = image.icc;
    return d;
}

// Decodes what should be a good file; a failed expectation if it is not.
Decoded decode_good(const Bytes &file) {
    Decoded d = decode(file);
    EXPECT_TRUE(d.ok) << d.error;
    return d;
}

struct Probed {
    bool ok = false;
    int64_t width = 0, height = 0;
    std::string error;
};

Probed probe(const Bytes &file) {
    Probed p;
    p.ok = heif().probe(file.data(), file.size(), p.width, p.height, p.error);
    return p;
}

std::string brand(const Bytes &file) {
    if (file.size() < 12 || std::memcmp(file.data() + 4, "ftyp", 4) != 0) return "";
    return std::string(reinterpret_cast<const char *>(file.data()) + 8, 4);
}

// 'colr' boxes, counted as their type's bytes in the file (the coded data of these small
// images is too short to hold them by chance, and an ICC profile does not).
int count_colr_boxes(const Bytes &file) {
    const std::string bytes(file.begin(), file.end());
    int count = 0;
    for (size_t at = bytes.find("colr"); at != std::string::npos; at = bytes.find("colr", at + 4)) ++count;
    return count;
}

int max_difference(const cv::Mat &a, const cv::Mat &b) { return static_cast<int>(cv::norm(a, b, cv::NORM_INF)); }

cv::Mat channel(const cv::Mat &image, int index) {
    cv::Mat out;
    cv::extractChannel(image, out, index);
    return out;
}

cv::Mat colour_of(const cv::Mat &bgra) {
    cv::Mat bgr(bgra.size(), CV_MAKETYPE(bgra.depth(), 3));
    const int from_to[] = {0, 0, 1, 1, 2, 2};
    cv::mixChannels(&bgra, 1, &bgr, 1, from_to, 3);
    return bgr;
}


bool writes_heic() { return heif().can_encode("heic"); }

// ---- libheif itself, for files the module does not write ---------------------------------
//
// An irot/imir transform and premultiplied alpha. The tests link only the engine, so the
// library is opened here (the process still holds one copy, shared with the module).

struct LibHeif {
    void *library = nullptr;
    decltype(&heif_init) init = nullptr;
    decltype(&heif_context_alloc) context_alloc = nullptr;
    decltype(&heif_context_free) context_free = nullptr;
    decltype(&heif_context_get_encoder_for_format) get_encoder = nullptr;
    decltype(&heif_encoder_release) encoder_release = nullptr;
    decltype(&heif_encoder_set_lossy_quality) set_quality = nullptr;
    decltype(&heif_image_create) image_create = nullptr;
    decltype(&heif_image_add_plane) image_add_plane = nullptr;
    decltype(&heif_image_get_plane) image_get_plane = nullptr;
    decltype(&heif_image_set_premultiplied_alpha) image_set_premultiplied = nullptr;
    decltype(&heif_image_release) image_release = nullptr;
    decltype(&heif_encoding_options_alloc) options_alloc = nullptr;
    decltype(&heif_encoding_options_free) options_free = nullptr;
    decltype(&heif_context_encode_image) encode_image = nullptr;
    decltype(&heif_context_write) write = nullptr;

    static const LibHeif *get() {
        static const LibHeif lib;
        return lib.library ? &lib : nullptr;
    }

private:
    LibHeif() {
        library = ::dlopen("libheif.so.1", RTLD_NOW | RTLD_LOCAL);
        if (!library) return;
        bool ok = true;
        auto load = [&](auto &function, const char *name) {
            function = reinterpret_cast<std::remove_reference_t<decltype(function)>>(::dlsym(library, name));
            ok = ok && function;
        };
        load(init, "heif_init");
        load(context_alloc, "heif_context_alloc");
        load(context_free, "heif_context_free");
        load(get_encoder, "heif_context_get_encoder_for_format");
        load(encoder_release, "heif_encoder_release");
        load(set_quality, "heif_encoder_set_lossy_quality");
        load(image_create, "heif_image_create");
        load(image_add_plane, "heif_image_add_plane");
        load(image_get_plane, "heif_image_get_plane");
        load(image_set_premultiplied, "heif_image_set_premultiplied_alpha");
        load(image_release, "heif_image_release");
        load(options_alloc, "heif_encoding_options_alloc");
        load(options_free, "heif_encoding_options_free");
        load(encode_image, "heif_context_encode_image");
        load(write, "heif_context_write");
        if (!ok || init(nullptr).code != heif_error_Ok) library = nullptr; // never closed: the module uses it
    }
};

heif_error append(heif_context *, const void *data, size_t size, void *userdata) {
    auto *out = static_cast<Bytes *>(userdata);
    out->insert(out->end(), static_cast<const uint8_t *>(data), static_cast<const uint8_t *>(data) + size);
    return {heif_error_Ok, heif_suberror_Unspecified, "Success"};
}

// An 8-bit AVIF of `image` (BGR or BGRA, quality 90), written by libheif with `orientation`
// as irot/imir boxes and, when asked, the colour marked as premultiplied by the alpha. Empty (and a
// failed expectation) when libheif cannot be driven.
Bytes libheif_avif(const cv::Mat &image, heif_orientation orientation, bool premultiplied = false) {
    const LibHeif *lib = LibHeif::get();
    if (!lib) {
        ADD_FAILURE() << "cannot open libheif.so.1 to build the fixture: " << ::dlerror();
        return {};
    }
    const bool alpha = image.channels() == 4;
    heif_context *context = lib->context_alloc();
    heif_encoder *encoder = nullptr;
    heif_image *picture = nullptr;
    heif_encoding_options *options = lib->options_alloc();
    Bytes out;
    bool ok = lib->get_encoder(context, heif_compression_AV1, &encoder).code == heif_error_Ok &&
              lib->set_quality(encoder, 90).code == heif_error_Ok &&
              lib->image_create(image.cols, image.rows, heif_colorspace_RGB,
                                alpha ? heif_chroma_interleaved_RGBA : heif_chroma_interleaved_RGB, &picture).code == heif_error_Ok &&
              lib->image_add_plane(picture, heif_channel_interleaved, image.cols, image.rows, 8).code == heif_error_Ok;
    if (ok) {
        int stride = 0;
        uint8_t *plane = lib->image_get_plane(picture, heif_channel_interleaved, &stride);
        cv::Mat rgb(image.rows, image.cols, image.type(), plane, static_cast<size_t>(stride));
        const int bgr_to_rgb[] = {0, 2, 1, 1, 2, 0, 3, 3};
        cv::mixChannels(&image, 1, &rgb, 1, bgr_to_rgb, static_cast<size_t>(image.channels()));
        if (premultiplied) lib->image_set_premultiplied(picture, 1);
        options->image_orientation = orientation;
        heif_writer writer{1, append};
        ok = lib->encode_image(context, picture, encoder, options, nullptr).code == heif_error_Ok &&
             lib->write(context, &writer, &out).code == heif_error_Ok;
    }
    if (picture) lib->image_release(picture);
    if (encoder) lib->encoder_release(encoder);
    lib->options_free(options);
    lib->context_free(context);
    EXPECT_TRUE(ok) << "libheif could not write the fixture";
    return out;
}

// ---- the table -------------------------------------------------------------------------

TEST(HeifModule, WritesAvifAlwaysAndHeicOnlyWithAnHevcEncoder) {
    EXPECT_TRUE(heif().can_encode("avif"));
    EXPECT_EQ(heif().can_encode("heif"), heif().can_encode("heic"));
    EXPECT_FALSE(heif().can_encode("png"));
    EXPECT_FALSE(heif().can_encode(""));
}

TEST(HeifModule, RefusesFormatsAndImagesItCannotWrite) {
    Bytes out;
    std::string error;
    EXPECT_FALSE(heif().encode(test_image(), "png", {}, {}, out, error));
    EXPECT_NE(error.find(".png"), std::string::npos) << error;

    error.clear();
    EXPECT_FALSE(heif().encode(cv::Mat(8, 8, CV_32FC3, cv::Scalar::all(0.5)), "avif", {}, {}, out, error));
    EXPECT_NE(error.find("8- or 16-bit"), std::string::npos) << error;

    error.clear();
    EXPECT_FALSE(heif().encode(cv::Mat(), "avif", {}, {}, out, error));
    EXPECT_FALSE(error.empty());
}

// ---- AVIF ------------------------------------------------------------------------------

TEST(HeifModule, AvifRoundTripKeepsSizeAndColour) {
    const cv::Mat original = test_image();
    const Bytes file = encode(original, "avif");
    EXPECT_EQ(brand(file), "avif");

    const Probed p = probe(file);
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_EQ(p.width, 96);
    EXPECT_EQ(p.height, 64);

    const Decoded d = decode_good(file);
    ASSERT_EQ(d.pixels.type(), CV_8UC3);
    ASSERT_EQ(d.pixels.size(), original.size());
    EXPECT_GT(cv::PSNR(d.pixels, original), 30.0);
    // Channel order: the red patch is still red (B, G low; R high).
    const cv::Vec3b red = d.pixels.at<cv::Vec3b>(10, 12);
    EXPECT_LT(red[0], 40);
    EXPECT_LT(red[1], 40);
    EXPECT_GT(red[2], 215);
    // libheif writes an nclx colour box, which is not an ICC profile.
    EXPECT_TRUE(d.icc.empty());
}

TEST(HeifModule, LowerQualityGivesASmallerAvif) {
    EncodeOptions low, high;
    low.quality = 20;
    high.quality = 95;
    const cv::Mat original = test_image(192, 128);
    const Bytes small = encode(original, "avif", low);
    const Bytes large = encode(original, "avif", high);
    EXPECT_LT(small.size(), large.size());
    EXPECT_GT(cv::PSNR(decode_good(large).pixels, original), cv::PSNR(decode_good(small).pixels, original));
}

TEST(HeifModule, LosslessAvifIsExact) {
    const cv::Mat original = test_image();
    const Decoded d = decode_good(encode(original, "avif", lossless()));
    ASSERT_EQ(d.pixels.type(), CV_8UC3);
    EXPECT_EQ(max_difference(d.pixels, original), 0);
}

TEST(HeifModule, LosslessAvifWithAlphaIsExact) {
    const cv::Mat original = with_alpha(test_image());
    const Decoded d = decode_good(encode(original, "avif", lossless()));
    ASSERT_EQ(d.pixels.type(), CV_8UC4);
    EXPECT_EQ(max_difference(d.pixels, original), 0);
}

TEST(HeifModule, AlphaSurvivesALossyRoundTrip) {
    const cv::Mat original = with_alpha(test_image());
    const Decoded d = decode_good(encode(original, "avif"));
    ASSERT_EQ(d.pixels.type(), CV_8UC4);
    EXPECT_GT(cv::PSNR(colour_of(d.pixels), colour_of(original)), 30.0);
    EXPECT_LE(max_difference(channel(d.pixels, 3), channel(original, 3)), 8);
}

TEST(HeifModule, GrayInputComesBackAsEqualChannels) {
    cv::Mat gray;
    cv::extractChannel(test_image(), gray, 1);
    const Decoded d = decode_good(encode(gray, "avif"));
    ASSERT_EQ(d.pixels.type(), CV_8UC3);
    for (int c = 0; c < 3; ++c) EXPECT_GT(cv::PSNR(channel(d.pixels, c), gray), 30.0) << "channel " << c;

    const Decoded exact = decode_good(encode(gray, "avif", lossless()));
    for (int c = 0; c < 3; ++c) EXPECT_EQ(max_difference(channel(exact.pixels, c), gray), 0) << "channel " << c;
}

TEST(HeifModule, SixteenBitInputIsWrittenAsEightBitAvif) {
    // libheif 1.15 cannot drive libaom at 10 bits, so the module writes 8 (see heif_module.cpp).
    const cv::Mat original = test_image();
    const Decoded d = decode_good(encode(to_16_bits(original), "avif", lossless()));
    ASSERT_EQ(d.pixels.type(), CV_8UC3);
    EXPECT_EQ(max_difference(d.pixels, original), 0);
}

TEST(HeifModule, TenBitAvifDecodesTo16Bits) {
    GTEST_SKIP() << "no 10-bit AVIF can be made here: libheif 1.15 with libaom 3.6 fails on 10-bit input "
                    "(libheif issue #788) and Debian's libaom aborts the process on it; the 10-bit "
                    "decode path is covered by TenBitHeic* below";
}

TEST(HeifModule, IccProfileComesBackByteForByte) {
    const Bytes icc = srgb_profile();
    ASSERT_GT(icc.size(), 128u) << "lcms2 gave no sRGB profile";
    const cv::Mat original = test_image();

    const Bytes lossy_file = encode(original, "avif", {}, icc);
    EXPECT_EQ(count_colr_boxes(lossy_file), 1);
    const Decoded lossy = decode_good(lossy_file);
    EXPECT_EQ(lossy.icc, icc);
    EXPECT_GT(cv::PSNR(lossy.pixels, original), 30.0);

    // Lossless writes an nclx box beside the profile (its planes are RGB, not YCbCr).
    const Bytes lossless_file = encode(original, "avif", lossless(), icc);
    EXPECT_EQ(count_colr_boxes(lossless_file), 2);
    const Decoded exact = decode_good(lossless_file);
    EXPECT_EQ(exact.icc, icc);
    EXPECT_EQ(max_difference(exact.pixels, original), 0);
}

TEST(HeifModule, SmallAndOddSizesRoundTrip) {
    const std::vector<std::string> formats = writes_heic() ? std::vector<std::string>{"avif", "heic"}
                                                           : std::vector<std::string>{"avif"};
    for (const std::string &format : formats) {
        for (const cv::Size size : {cv::Size(1, 1), cv::Size(3, 5), cv::Size(17, 1), cv::Size(97, 63)}) {
            SCOPED_TRACE(format + " " + std::to_string(size.width) + "x" + std::to_string(size.height));
            const Bytes file = encode(test_image(size.width, size.height), format);
            const Probed p = probe(file);
            ASSERT_TRUE(p.ok) << p.error;
            EXPECT_EQ(p.width, size.width);
            EXPECT_EQ(p.height, size.height);
            EXPECT_EQ(decode_good(file).pixels.size(), size);
        }
    }
}

TEST(HeifModule, AMajorBrandLibheifDoesNotKnowIsReadThroughTheCompatibleOnes) {
    // MIAF's 'MA1B' (AV1 baseline profile) as the major brand; 'avif' and 'mif1' stay
    // among the compatible brands, which is what libheif reads by.
    Bytes file = encode(test_image(), "avif");
    ASSERT_EQ(brand(file), "avif");
    std::memcpy(file.data() + 8, "MA1B", 4);
    const Probed p = probe(file);
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_EQ(p.width, 96);
    EXPECT_EQ(decode_good(file).pixels.size(), cv::Size(96, 64));
}

TEST(HeifModule, ReadsPanoramasWiderThanLibheifsDefaultLimit) {
    // libheif refuses more than 32768 pixels a side unless told otherwise; AV1 holds 65536.
    const cv::Mat strip(16, 40000, CV_8UC3, cv::Scalar(40, 120, 200));
    const Bytes file = encode(strip, "avif");
    const Probed p = probe(file);
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_EQ(p.width, 40000);
    EXPECT_EQ(p.height, 16);
    EXPECT_EQ(decode_good(file).pixels.size(), strip.size());
}

// ---- HEIC ------------------------------------------------------------------------------

TEST(HeifModule, HeicRoundTrip) {
    if (!writes_heic()) GTEST_SKIP() << "this libheif has no HEVC encoder";
    const cv::Mat original = test_image();
    const Bytes icc = srgb_profile();
    const Bytes file = encode(original, "heic", {}, icc);
    EXPECT_EQ(brand(file), "heic");
    const Probed p = probe(file);
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_EQ(p.width, 96);
    EXPECT_EQ(p.height, 64);
    const Decoded d = decode_good(file);
    ASSERT_EQ(d.pixels.type(), CV_8UC3);
    EXPECT_GT(cv::PSNR(d.pixels, original), 30.0);
    EXPECT_EQ(d.icc, icc);
}

TEST(HeifModule, TenBitHeicDecodesTo16BitsOverTheFullRange) {
    if (!writes_heic()) GTEST_SKIP() << "this libheif has no HEVC encoder";
    // Every 16-bit level a 10-bit sample can land on, and the range's ends.
    cv::Mat original(64, 96, CV_16UC3);
    cv::randu(original, 0, 65536);
    original(cv::Rect(0, 0, 8, 8)).setTo(cv::Scalar::all(0));
    original(cv::Rect(8, 0, 8, 8)).setTo(cv::Scalar::all(65535));
    const cv::Mat before = original.clone();
    const Decoded d = decode_good(encode(original, "heic", lossless()));
    EXPECT_EQ(max_difference(original, before), 0) << "the encoder changed the caller's image";
    ASSERT_EQ(d.pixels.type(), CV_16UC3);
    // Written as round(v * 1023 / 65535); read back as the 10 bits repeated to fill 16.
    cv::Mat expected(original.size(), original.type());
    for (int y = 0; y < original.rows; ++y)
        for (int x = 0; x < original.cols * 3; ++x) {
            const unsigned v10 = (original.ptr<uint16_t>(y)[x] * 1023u + 32767u) / 65535u;
            expected.ptr<uint16_t>(y)[x] = static_cast<uint16_t>(v10 << 6 | v10 >> 4);
        }
    EXPECT_EQ(max_difference(d.pixels, expected), 0);
    EXPECT_EQ(d.pixels.at<cv::Vec3w>(4, 4), cv::Vec3w(0, 0, 0));
    EXPECT_EQ(d.pixels.at<cv::Vec3w>(4, 12), cv::Vec3w(65535, 65535, 65535));
}

TEST(HeifModule, TenBitHeicWithAlphaKeepsItsAlpha) {
    if (!writes_heic()) GTEST_SKIP() << "this libheif has no HEVC encoder";
    const cv::Mat original = to_16_bits(with_alpha(test_image()));
    const Decoded d = decode_good(encode(original, "heic"));
    ASSERT_EQ(d.pixels.type(), CV_16UC4);
    EXPECT_GT(cv::PSNR(colour_of(d.pixels), colour_of(original), 65535.0), 30.0);
    EXPECT_GT(cv::PSNR(channel(d.pixels, 3), channel(original, 3), 65535.0), 35.0);
}

// ---- transforms and premultiplied alpha (files written by libheif) -----------------------

TEST(HeifModule, RotationIsAppliedAndProbeAgreesWithDecode) {
    // Coded 96x64 with the red patch at the top left; shown turned 90 degrees clockwise.
    const Bytes file = libheif_avif(test_image(), heif_orientation_rotate_90_cw);
    ASSERT_FALSE(file.empty());
    const Probed p = probe(file);
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_EQ(p.width, 64);
    EXPECT_EQ(p.height, 96);
    const Decoded d = decode_good(file);
    ASSERT_EQ(d.pixels.cols, p.width);
    ASSERT_EQ(d.pixels.rows, p.height);
    // The coded top left is now the top right.
    const cv::Vec3b red = d.pixels.at<cv::Vec3b>(12, 64 - 1 - 10);
    EXPECT_LT(red[0], 40);
    EXPECT_GT(red[2], 215);
}

TEST(HeifModule, MirrorIsApplied) {
    const Bytes file = libheif_avif(test_image(), heif_orientation_flip_horizontally);
    ASSERT_FALSE(file.empty());
    const Probed p = probe(file);
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_EQ(p.width, 96);
    EXPECT_EQ(p.height, 64);
    const Decoded d = decode_good(file);
    ASSERT_EQ(d.pixels.size(), cv::Size(96, 64));
    const cv::Vec3b red = d.pixels.at<cv::Vec3b>(10, 96 - 1 - 12);
    EXPECT_LT(red[0], 40);
    EXPECT_GT(red[2], 215);
}

TEST(HeifModule, PremultipliedAlphaComesBackStraight) {
    // Straight colour (B, G, R) = (50, 100, 200) at alpha 128, stored premultiplied.
    const cv::Mat stored(32, 32, CV_8UC4, cv::Scalar(25, 50, 100, 128));
    const Decoded d = decode_good(libheif_avif(stored, heif_orientation_normal, true));
    ASSERT_EQ(d.pixels.type(), CV_8UC4);
    const cv::Vec4b p = d.pixels.at<cv::Vec4b>(16, 16);
    EXPECT_NEAR(p[3], 128, 3);
    EXPECT_NEAR(p[0], 50, 8);
    EXPECT_NEAR(p[1], 100, 8);
    EXPECT_NEAR(p[2], 200, 8);
}

// ---- damaged input ---------------------------------------------------------------------

void expect_refused(const Bytes &file, const std::string &what, const std::string &says) {
    SCOPED_TRACE(what);
    const Decoded d = decode(file);
    EXPECT_FALSE(d.ok);
    EXPECT_TRUE(d.pixels.empty());
    EXPECT_NE(d.error.find(says), std::string::npos) << d.error;
}

TEST(HeifModule, TruncatedFilesAreRefusedWithAReason) {
    const Bytes file = encode(test_image(), "avif");
    ASSERT_GT(file.size(), 400u);
    // Cut inside the boxes (the meta box is the first few hundred bytes) and inside the
    // coded image at the end.
    for (const size_t keep : {size_t(11), size_t(40), size_t(200), file.size() / 2, file.size() - 10}) {
        const Bytes cut(file.begin(), file.begin() + static_cast<long>(keep));
        const Decoded d = decode(cut);
        EXPECT_FALSE(d.ok) << "kept " << keep << " of " << file.size() << " bytes";
        EXPECT_FALSE(d.error.empty()) << "kept " << keep;
        if (keep >= 40) {
            EXPECT_NE(d.error.find("damaged HEIF file"), std::string::npos) << d.error;
        }
    }
}

TEST(HeifModule, RandomBytesAndEmptyInputAreRefused) {
    std::mt19937 random(7);
    Bytes noise(4096);
    for (uint8_t &b : noise) b = static_cast<uint8_t>(random());
    expect_refused(noise, "random bytes", "not a HEIF");
    expect_refused({}, "empty", "empty");

    Probed p = probe(noise);
    EXPECT_FALSE(p.ok);
    EXPECT_NE(p.error.find("not a HEIF"), std::string::npos) << p.error;
    p = probe({});
    EXPECT_FALSE(p.ok);

    // An ftyp box that promises AVIF, then noise.
    Bytes fake = encode(test_image(), "avif");
    fake.resize(32);
    fake.insert(fake.end(), noise.begin(), noise.end());
    expect_refused(fake, "ftyp then noise", "damaged HEIF file");
}

TEST(HeifModule, AHugeClaimedSizeIsRefusedBeforeDecoding) {
    // The coded size (ispe: box header, version and flags, then width and height, big
    // endian) rewritten to 50000x50000: 2.5 gigapixels, which no allocation should follow.
    Bytes file = encode(test_image(), "avif");
    const std::string bytes(file.begin(), file.end());
    const size_t ispe = bytes.find("ispe");
    ASSERT_NE(ispe, std::string::npos);
    for (const size_t at : {ispe + 8, ispe + 12}) {
        const uint32_t side = 50000;
        for (int i = 0; i < 4; ++i) file[at + i] = static_cast<uint8_t>(side >> (24 - 8 * i));
    }
    const Probed p = probe(file);
    ASSERT_TRUE(p.ok) << p.error; // the header alone, as the engine needs it to apply its limit
    EXPECT_EQ(p.width, 50000);
    EXPECT_EQ(p.height, 50000);
    expect_refused(file, "50000x50000", "more than this decoder handles");
}

TEST(HeifModule, CorruptedCodedDataNeverCrashes) {
    const Bytes file = encode(test_image(), "avif");
    std::mt19937 random(11);
    // The coded image is at the end (mdat); the boxes before it are left alone. Whatever
    // the decoder makes of it, the module returns an image of the right size or a reason.
    for (int round = 0; round < 20; ++round) {
        Bytes bad = file;
        for (int i = 0; i < 8; ++i) {
            const size_t at = bad.size() - 1 - random() % (bad.size() / 3);
            bad[at] = static_cast<uint8_t>(random());
        }
        const Decoded d = decode(bad);
        if (d.ok) {
            EXPECT_EQ(d.pixels.size(), cv::Size(96, 64));
        } else {
            EXPECT_FALSE(d.error.empty());
        }
    }
}

} // namespace
