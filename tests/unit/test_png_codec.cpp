// decode_png / encode_png against OpenCV's libpng reader: files from cv::imencode, files
// built here with libspng (palette, tRNS, 1/2/4-bit, gray+alpha, interlaced: every colour
// type and bit depth), then damaged on purpose.
#include "codec/png_codec.hpp"

#include "support/image_bytes.hpp"

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <spng.h>
#include <zlib.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

using batchproc::CodecImage;
using batchproc::decode_png;
using batchproc::DecodeError;
using batchproc::encode_png;
using batchproc::EncodeError;
using batchproc::EncodeOptions;
using batchproc::test::encode_image;
using batchproc::test::random_pixels;
using batchproc::test::srgb_profile;
using batchproc::test::png_crc32;

namespace {

using Bytes = std::vector<uint8_t>;

cv::Mat opencv_decode(const Bytes &b) { return cv::imdecode(b, cv::IMREAD_UNCHANGED); }

// ---- Fixtures libspng writes (formats cv::imencode cannot make) ----------------------------

struct SpngFree {
    void operator()(spng_ctx *c) const { spng_ctx_free(c); }
};

// A PNG from packed rows in the file's own format (SPNG_FMT_PNG, 16-bit host-endian).
Bytes write_png(uint32_t w, uint32_t h, uint8_t depth, uint8_t colour, const Bytes &rows, bool interlaced = false,
                const spng_plte *plte = nullptr, spng_trns *trns = nullptr) {
    std::unique_ptr<spng_ctx, SpngFree> ctx(spng_ctx_new(SPNG_CTX_ENCODER));
    spng_set_option(ctx.get(), SPNG_ENCODE_TO_BUFFER, 1);
    spng_ihdr ihdr{w, h, depth, colour, 0, 0, uint8_t(interlaced ? 1 : 0)};
    EXPECT_EQ(spng_set_ihdr(ctx.get(), &ihdr), 0);
    if (plte) {
        EXPECT_EQ(spng_set_plte(ctx.get(), const_cast<spng_plte *>(plte)), 0);
    }
    if (trns) {
        EXPECT_EQ(spng_set_trns(ctx.get(), trns), 0);
    }
    EXPECT_EQ(spng_encode_image(ctx.get(), rows.data(), rows.size(), SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE), 0);
    size_t len = 0;
    int err = 0;
    void *buf = spng_get_png_buffer(ctx.get(), &len, &err);
    EXPECT_EQ(err, 0);
    Bytes out(static_cast<uint8_t *>(buf), static_cast<uint8_t *>(buf) + len);
    std::free(buf);
    return out;
}

Bytes random_bytes(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    Bytes b(n);
    for (auto &v : b) v = uint8_t(rng());
    return b;
}

spng_plte palette(uint32_t n) {
    spng_plte p{};
    p.n_entries = n;
    for (uint32_t i = 0; i < n; ++i) p.entries[i] = {uint8_t(i * 7), uint8_t(255 - i), uint8_t(i * 13 + 5), 0};
    return p;
}

size_t find_chunk(const Bytes &png, const char *type) {
    size_t pos = 8;
    while (pos + 12 <= png.size()) {
        const uint32_t len = (uint32_t(png[pos]) << 24) | (png[pos + 1] << 16) | (png[pos + 2] << 8) | png[pos + 3];
        if (std::memcmp(png.data() + pos + 4, type, 4) == 0) return pos;
        pos += len + 12;
    }
    ADD_FAILURE() << "no chunk " << type;
    return 0;
}

uint32_t chunk_length(const Bytes &png, size_t pos) {
    return (uint32_t(png[pos]) << 24) | (png[pos + 1] << 16) | (png[pos + 2] << 8) | png[pos + 3];
}

// A chunk: length, type, body, CRC.
Bytes make_chunk(const std::string &type, const Bytes &body) {
    Bytes c;
    c.reserve(body.size() + 12);
    for (int i = 3; i >= 0; --i) c.push_back(uint8_t(body.size() >> (8 * i)));
    for (char t : type) c.push_back(uint8_t(t));
    c.insert(c.end(), body.begin(), body.end());
    const uint32_t crc = png_crc32(c.data() + 4, body.size() + 4);
    for (int i = 3; i >= 0; --i) c.push_back(uint8_t(crc >> (8 * i)));
    return c;
}

Bytes insert_after_ihdr(Bytes png, const Bytes &chunk) {
    png.insert(png.begin() + 33, chunk.begin(), chunk.end());
    return png;
}

// An iCCP chunk body: name, NUL, compression method 0, then `profile_bytes` bytes of the
// profile (`profile` repeated) through zlib, streamed so that a huge one costs no memory here.
Bytes iccp_body(const std::string &name, const Bytes &profile, size_t profile_bytes) {
    Bytes body(name.begin(), name.end());
    body.push_back(0);
    body.push_back(0);
    z_stream z{};
    EXPECT_EQ(deflateInit(&z, Z_BEST_SPEED), Z_OK);
    Bytes out(1 << 16);
    for (size_t fed = 0;;) {
        const size_t n = std::min(profile.size(), profile_bytes - fed);
        z.next_in = const_cast<Bytef *>(profile.data());
        z.avail_in = uInt(n);
        fed += n;
        const int flush = fed == profile_bytes ? Z_FINISH : Z_NO_FLUSH;
        int ret = Z_OK;
        do {
            z.next_out = out.data();
            z.avail_out = uInt(out.size());
            ret = deflate(&z, flush);
            body.insert(body.end(), out.data(), out.data() + (out.size() - z.avail_out));
        } while (z.avail_out == 0 || (flush == Z_FINISH && ret != Z_STREAM_END));
        if (flush == Z_FINISH) break;
    }
    deflateEnd(&z);
    return body;
}

// ---- Round trips ---------------------------------------------------------------------------

TEST(PngCodec, RoundTripsEveryDepthAndChannelCount) {
    for (int depth : {CV_8U, CV_16U}) {
        for (int channels : {1, 3, 4}) {
            SCOPED_TRACE("depth " + std::to_string(depth) + ", channels " + std::to_string(channels));
            const cv::Mat image = random_pixels(37, 23, CV_MAKETYPE(depth, channels));
            const Bytes png = encode_png(image, EncodeOptions{}, {});
            EXPECT_SAME_PIXELS(opencv_decode(png), image); // the file is what it should be
            const CodecImage back = decode_png(png.data(), png.size(), false);
            EXPECT_SAME_PIXELS(back.pixels, image);
            EXPECT_TRUE(back.icc.empty());
            EXPECT_TRUE(back.warnings.empty());
            EXPECT_EQ(back.scale_denominator, 1);
        }
    }
}

TEST(PngCodec, EncodesANonContinuousRegion) {
    const cv::Mat big = random_pixels(64, 48, CV_16UC3);
    const cv::Mat roi = big(cv::Rect(5, 7, 30, 20));
    const Bytes png = encode_png(roi, EncodeOptions{}, {});
    EXPECT_SAME_PIXELS(opencv_decode(png), roi);
}

TEST(PngCodec, SixteenBitSamplesAreBigEndianInTheFile) {
    cv::Mat image(1, 1, CV_16UC1, cv::Scalar(0x1234));
    EncodeOptions options;
    options.png_compression = 0; // stored deflate blocks: the sample bytes appear as they are
    const Bytes png = encode_png(image, options, {});
    const Bytes needle = {0x12, 0x34};
    const size_t idat = find_chunk(png, "IDAT");
    const auto begin = png.begin() + long(idat + 8), end = begin + long(chunk_length(png, idat));
    EXPECT_NE(std::search(begin, end, needle.begin(), needle.end()), end);
}

TEST(PngCodec, CompressionLevelIsUsed) {
    cv::Mat image(128, 128, CV_8UC3);
    for (int y = 0; y < image.rows; ++y)
        for (int x = 0; x < image.cols; ++x)
            image.at<cv::Vec3b>(y, x) = cv::Vec3b(uint8_t(x), uint8_t(y), uint8_t(x ^ y));
    EncodeOptions stored, best;
    stored.png_compression = 0;
    best.png_compression = 9;
    const Bytes a = encode_png(image, stored, {}), b = encode_png(image, best, {});
    EXPECT_GT(a.size(), 128u * 128u * 3u); // level 0 stores
    EXPECT_LT(b.size(), a.size() / 4);
    EXPECT_SAME_PIXELS(opencv_decode(a), image);
    EXPECT_SAME_PIXELS(opencv_decode(b), image);
}

TEST(PngCodec, IccProfileRoundTripsByteForByte) {
    const Bytes icc = srgb_profile();
    ASSERT_GT(icc.size(), 100u);
    const cv::Mat image = random_pixels(16, 9, CV_8UC3);
    const Bytes png = encode_png(image, EncodeOptions{}, icc);
    const size_t iccp = find_chunk(png, "iCCP");
    EXPECT_EQ(std::string(reinterpret_cast<const char *>(png.data() + iccp + 8)), "ICC Profile");
    const CodecImage back = decode_png(png.data(), png.size(), false);
    EXPECT_EQ(back.icc, icc);
    EXPECT_SAME_PIXELS(back.pixels, image);
    EXPECT_SAME_PIXELS(opencv_decode(png), image);
}

TEST(PngCodec, RefusesWhatPngCannotHold) {
    EXPECT_THROW(encode_png(cv::Mat(), EncodeOptions{}, {}), EncodeError);
    EXPECT_THROW(encode_png(cv::Mat(4, 4, CV_32FC3, cv::Scalar(0.5)), EncodeOptions{}, {}), EncodeError);
    EXPECT_THROW(encode_png(cv::Mat(4, 4, CV_8UC2, cv::Scalar(1, 2)), EncodeOptions{}, {}), EncodeError);
    EncodeOptions bad;
    bad.png_compression = 10;
    try {
        encode_png(cv::Mat(4, 4, CV_8UC1, cv::Scalar(1)), bad, {});
        FAIL() << "no EncodeError";
    } catch (const EncodeError &e) {
        EXPECT_NE(std::string(e.what()).find("0 to 9"), std::string::npos) << e.what();
    }
}

// ---- Decoding as OpenCV does -------------------------------------------------------------

TEST(PngCodec, DecodesOpenCvFilesAsOpenCvDoes) {
    for (int depth : {CV_8U, CV_16U}) {
        for (int channels : {1, 3, 4}) {
            SCOPED_TRACE("depth " + std::to_string(depth) + ", channels " + std::to_string(channels));
            const Bytes png = encode_image(".png", random_pixels(41, 17, CV_MAKETYPE(depth, channels), 7));
            EXPECT_SAME_PIXELS(decode_png(png.data(), png.size(), false).pixels, opencv_decode(png));
        }
    }
    // A 1-bit file from OpenCV's own bilevel option.
    cv::Mat bilevel = random_pixels(29, 11, CV_8UC1, 3) > 128;
    const Bytes png = encode_image(".png", bilevel, {cv::IMWRITE_PNG_BILEVEL, 1});
    EXPECT_SAME_PIXELS(decode_png(png.data(), png.size(), false).pixels, opencv_decode(png));
}

TEST(PngCodec, GrayAlphaBecomesBgraAsInOpenCv) {
    for (uint8_t depth : {8, 16}) {
        SCOPED_TRACE(depth);
        const uint32_t w = 13, h = 5;
        const Bytes rows = random_bytes(size_t(w) * h * 2 * (depth / 8), depth);
        const Bytes png = write_png(w, h, depth, SPNG_COLOR_TYPE_GRAYSCALE_ALPHA, rows);
        const cv::Mat ours = decode_png(png.data(), png.size(), false).pixels;
        EXPECT_SAME_PIXELS(ours, opencv_decode(png));
        EXPECT_EQ(ours.channels(), 4);
    }
}

TEST(PngCodec, LowBitDepthGrayExpandsAsInOpenCv) {
    for (uint8_t depth : {1, 2, 4, 8}) {
        SCOPED_TRACE(int(depth));
        const uint32_t w = 19, h = 7; // rows that end inside a byte
        const Bytes rows = random_bytes(size_t((w * depth + 7) / 8) * h, depth);
        const Bytes png = write_png(w, h, depth, SPNG_COLOR_TYPE_GRAYSCALE, rows);
        const cv::Mat ours = decode_png(png.data(), png.size(), false).pixels;
        EXPECT_SAME_PIXELS(ours, opencv_decode(png));
        EXPECT_EQ(ours.type(), CV_8UC1);
        double hi = 0;
        cv::minMaxLoc(ours, nullptr, &hi);
        EXPECT_EQ(hi, 255); // full scale, not 0..(2^depth - 1)
    }
}

TEST(PngCodec, PaletteIsBgrWithoutTrnsAndBgraWithIt) {
    for (uint8_t depth : {1, 2, 4, 8}) {
        SCOPED_TRACE(int(depth));
        const uint32_t w = 23, h = 6, n = 1u << depth;
        const spng_plte plte = palette(n);
        const Bytes rows = random_bytes(size_t((w * depth + 7) / 8) * h, 100 + depth);

        const Bytes plain = write_png(w, h, depth, SPNG_COLOR_TYPE_INDEXED, rows, false, &plte);
        const cv::Mat bgr = decode_png(plain.data(), plain.size(), false).pixels;
        EXPECT_SAME_PIXELS(bgr, opencv_decode(plain));
        EXPECT_EQ(bgr.type(), CV_8UC3);

        spng_trns trns{};
        trns.n_type3_entries = n > 2 ? n / 2 : 1; // entries past the table are opaque
        for (uint32_t i = 0; i < trns.n_type3_entries; ++i) trns.type3_alpha[i] = uint8_t(i * 37);
        const Bytes alpha = write_png(w, h, depth, SPNG_COLOR_TYPE_INDEXED, rows, false, &plte, &trns);
        const cv::Mat bgra = decode_png(alpha.data(), alpha.size(), false).pixels;
        EXPECT_SAME_PIXELS(bgra, opencv_decode(alpha));
        EXPECT_EQ(bgra.type(), CV_8UC4);
    }
}

TEST(PngCodec, IndicesPastThePaletteAsInOpenCv) {
    const spng_plte plte = palette(100); // indices 100..255 have no entry
    spng_trns trns{};
    trns.n_type3_entries = 50;
    for (uint32_t i = 0; i < 50; ++i) trns.type3_alpha[i] = uint8_t(i * 5);
    const Bytes rows = random_bytes(32 * 8, 11);
    for (spng_trns *t : {static_cast<spng_trns *>(nullptr), &trns}) {
        const Bytes png = write_png(32, 8, 8, SPNG_COLOR_TYPE_INDEXED, rows, false, &plte, t);
        EXPECT_SAME_PIXELS(decode_png(png.data(), png.size(), false).pixels, opencv_decode(png));
    }
}

TEST(PngCodec, OpaqueTrnsStillGivesFourChannelsAsInOpenCv) {
    const spng_plte plte = palette(16);
    spng_trns trns{};
    trns.n_type3_entries = 3;
    std::memset(trns.type3_alpha, 255, 3);
    const Bytes png = write_png(8, 8, 4, SPNG_COLOR_TYPE_INDEXED, random_bytes(32, 9), false, &plte, &trns);
    const cv::Mat ours = decode_png(png.data(), png.size(), false).pixels;
    EXPECT_SAME_PIXELS(ours, opencv_decode(png));
    EXPECT_EQ(ours.channels(), 4);
}

TEST(PngCodec, TrnsColourKeyAsInOpenCv) {
    // Truecolour: the key colour becomes transparent (BGRA); gray: OpenCV ignores the key.
    for (uint8_t depth : {8, 16}) {
        SCOPED_TRACE(int(depth));
        const int bytes = depth / 8;
        Bytes rgb = random_bytes(size_t(9) * 4 * 3 * bytes, 5);
        for (int i = 0; i < 3 * bytes; ++i) rgb[size_t(i)] = rgb[size_t(3 * bytes + i)] = 0x40; // two key pixels
        spng_trns key{};
        key.red = key.green = key.blue = depth == 8 ? 0x40 : 0x4040;
        const Bytes png = write_png(9, 4, depth, SPNG_COLOR_TYPE_TRUECOLOR, rgb, false, nullptr, &key);
        const cv::Mat ours = decode_png(png.data(), png.size(), false).pixels;
        EXPECT_SAME_PIXELS(ours, opencv_decode(png));
        EXPECT_EQ(ours.channels(), 4);

        Bytes gray = random_bytes(size_t(9) * 4 * bytes, 6);
        gray[0] = 0x40;
        if (bytes == 2) gray[1] = 0x40;
        spng_trns gray_key{};
        gray_key.gray = depth == 8 ? 0x40 : 0x4040;
        const Bytes gpng = write_png(9, 4, depth, SPNG_COLOR_TYPE_GRAYSCALE, gray, false, nullptr, &gray_key);
        const cv::Mat gours = decode_png(gpng.data(), gpng.size(), false).pixels;
        EXPECT_SAME_PIXELS(gours, opencv_decode(gpng));
        EXPECT_EQ(gours.channels(), 1);
    }
}

TEST(PngCodec, InterlacedAsInOpenCv) {
    struct Case {
        uint8_t depth, colour, samples;
    };
    for (const Case c : {Case{8, SPNG_COLOR_TYPE_TRUECOLOR, 3}, Case{16, SPNG_COLOR_TYPE_TRUECOLOR_ALPHA, 4},
                         Case{8, SPNG_COLOR_TYPE_GRAYSCALE, 1}}) {
        SCOPED_TRACE(int(c.colour));
        const uint32_t w = 33, h = 21;
        const Bytes rows = random_bytes(size_t(w) * h * c.samples * (c.depth / 8), c.colour);
        const Bytes png = write_png(w, h, c.depth, c.colour, rows, true);
        EXPECT_SAME_PIXELS(decode_png(png.data(), png.size(), false).pixels, opencv_decode(png));
    }
}

// Every colour type and bit depth PNG allows, plain and interlaced, with and without a tRNS
// chunk where one is allowed, at sizes where some interlace passes are empty (1x1, 5x3).
TEST(PngCodec, EveryColourTypeDepthAndInterlaceAsInOpenCv) {
    struct Kind {
        uint8_t colour, depth, samples;
    };
    const Kind kinds[] = {
        {SPNG_COLOR_TYPE_GRAYSCALE, 1, 1},       {SPNG_COLOR_TYPE_GRAYSCALE, 2, 1},
        {SPNG_COLOR_TYPE_GRAYSCALE, 4, 1},       {SPNG_COLOR_TYPE_GRAYSCALE, 8, 1},
        {SPNG_COLOR_TYPE_GRAYSCALE, 16, 1},      {SPNG_COLOR_TYPE_TRUECOLOR, 8, 3},
        {SPNG_COLOR_TYPE_TRUECOLOR, 16, 3},      {SPNG_COLOR_TYPE_INDEXED, 1, 1},
        {SPNG_COLOR_TYPE_INDEXED, 2, 1},         {SPNG_COLOR_TYPE_INDEXED, 4, 1},
        {SPNG_COLOR_TYPE_INDEXED, 8, 1},         {SPNG_COLOR_TYPE_GRAYSCALE_ALPHA, 8, 2},
        {SPNG_COLOR_TYPE_GRAYSCALE_ALPHA, 16, 2}, {SPNG_COLOR_TYPE_TRUECOLOR_ALPHA, 8, 4},
        {SPNG_COLOR_TYPE_TRUECOLOR_ALPHA, 16, 4},
    };
    const uint32_t sizes[][2] = {{1, 1}, {5, 3}, {33, 21}};
    uint32_t seed = 0;
    int files = 0;
    for (const Kind k : kinds) {
        const bool has_alpha = k.colour == SPNG_COLOR_TYPE_GRAYSCALE_ALPHA || k.colour == SPNG_COLOR_TYPE_TRUECOLOR_ALPHA;
        for (const auto &size : sizes) {
            for (bool interlaced : {false, true}) {
                for (bool with_trns : {false, true}) {
                    if (with_trns && has_alpha) continue; // PNG forbids tRNS with an alpha channel
                    SCOPED_TRACE("colour type " + std::to_string(k.colour) + ", depth " + std::to_string(k.depth) +
                                 ", " + std::to_string(size[0]) + "x" + std::to_string(size[1]) +
                                 (interlaced ? ", interlaced" : "") + (with_trns ? ", tRNS" : ""));
                    const uint32_t w = size[0], h = size[1];
                    const size_t row = (size_t(w) * k.samples * k.depth + 7) / 8;
                    const Bytes rows = random_bytes(row * h, ++seed);
                    const spng_plte plte = palette(1u << std::min<int>(k.depth, 8));
                    spng_trns trns{};
                    // The first pixel's value as the colour key, so that it is used at least once.
                    const auto sample = [&](size_t i) {
                        return k.depth == 16 ? uint16_t((rows[2 * i] << 8) | rows[2 * i + 1])
                                             : uint16_t(k.depth == 8 ? rows[i] : rows[0] >> (8 - k.depth));
                    };
                    if (k.colour == SPNG_COLOR_TYPE_GRAYSCALE) {
                        trns.gray = sample(0);
                    } else if (k.colour == SPNG_COLOR_TYPE_TRUECOLOR) {
                        trns.red = sample(0);
                        trns.green = sample(1);
                        trns.blue = sample(2);
                    } else if (k.colour == SPNG_COLOR_TYPE_INDEXED) {
                        trns.n_type3_entries = std::max(1u, plte.n_entries / 2);
                        for (uint32_t i = 0; i < trns.n_type3_entries; ++i) trns.type3_alpha[i] = uint8_t(i * 29);
                    }
                    const Bytes png = write_png(w, h, k.depth, k.colour, rows, interlaced,
                                                k.colour == SPNG_COLOR_TYPE_INDEXED ? &plte : nullptr,
                                                with_trns ? &trns : nullptr);
                    const cv::Mat expected = opencv_decode(png);
                    ASSERT_FALSE(expected.empty());
                    const CodecImage ours = decode_png(png.data(), png.size(), false);
                    EXPECT_SAME_PIXELS(ours.pixels, expected);
                    EXPECT_TRUE(ours.warnings.empty());
                    ++files;
                }
            }
        }
    }
    EXPECT_EQ(files, 3 * 2 * (11 * 2 + 4)); // 11 kinds with a tRNS variant, 4 without
}

TEST(PngCodec, GammaAndColourChunksAreNotApplied) {
    // cv::imencode writes no gAMA; add one by hand: OpenCV ignores it, and so must we.
    const cv::Mat image = random_pixels(12, 8, CV_8UC3);
    Bytes png = encode_png(image, EncodeOptions{}, {});
    const Bytes gama_body = {'g', 'A', 'M', 'A', 0, 0, 0x4E, 0x20}; // gamma 0.2: obvious if applied
    Bytes chunk = {0, 0, 0, 4};
    chunk.insert(chunk.end(), gama_body.begin(), gama_body.end());
    const uint32_t crc = png_crc32(gama_body.data(), gama_body.size());
    for (int i = 3; i >= 0; --i) chunk.push_back(uint8_t(crc >> (8 * i)));
    png.insert(png.begin() + 33, chunk.begin(), chunk.end()); // right after IHDR
    EXPECT_SAME_PIXELS(decode_png(png.data(), png.size(), false).pixels, image);
    EXPECT_SAME_PIXELS(opencv_decode(png), image);
}

// ---- Damage ------------------------------------------------------------------------------

std::string decode_error(const Bytes &b, bool tolerate) {
    try {
        decode_png(b.data(), b.size(), tolerate);
    } catch (const DecodeError &e) {
        return e.what();
    }
    return "";
}

TEST(PngCodec, BadCrcThrowsUnlessDamageIsTolerated) {
    const cv::Mat image = random_pixels(20, 10, CV_8UC3);
    Bytes png = encode_png(image, EncodeOptions{}, {});
    const size_t idat = find_chunk(png, "IDAT");
    png[idat + 8 + chunk_length(png, idat)] ^= 0x55; // the stored CRC, not the data
    EXPECT_EQ(decode_error(png, false), "damaged PNG file: CRC error in chunk IDAT");
    const CodecImage tolerated = decode_png(png.data(), png.size(), true);
    EXPECT_SAME_PIXELS(tolerated.pixels, image);
    ASSERT_EQ(tolerated.warnings.size(), 1u);
    EXPECT_NE(tolerated.warnings[0].find("CRC error in chunk IDAT"), std::string::npos) << tolerated.warnings[0];
}

TEST(PngCodec, BadCrcInAMetadataChunk) {
    const cv::Mat image = random_pixels(20, 10, CV_8UC1);
    Bytes png = encode_png(image, EncodeOptions{}, srgb_profile());
    const size_t iccp = find_chunk(png, "iCCP");
    png[iccp + 8 + chunk_length(png, iccp)] ^= 1;
    EXPECT_EQ(decode_error(png, false), "damaged PNG file: CRC error in chunk iCCP");
    const CodecImage tolerated = decode_png(png.data(), png.size(), true);
    EXPECT_SAME_PIXELS(tolerated.pixels, image);
    EXPECT_TRUE(tolerated.icc.empty()); // the damaged chunk is dropped
    EXPECT_EQ(tolerated.warnings.size(), 1u);
}

TEST(PngCodec, TruncatedFileThrowsOrKeepsTheRowsItHas) {
    cv::Mat image = random_pixels(64, 64, CV_8UC3);
    EncodeOptions stored;
    stored.png_compression = 0; // the file size maps to rows
    const Bytes png = encode_png(image, stored, {});
    const Bytes cut(png.begin(), png.begin() + long(png.size() / 2));
    const std::string message = decode_error(cut, false);
    EXPECT_EQ(message.rfind("truncated PNG file", 0), 0u) << message;

    const CodecImage partial = decode_png(cut.data(), cut.size(), true);
    ASSERT_EQ(partial.warnings.size(), 1u);
    EXPECT_NE(partial.warnings[0].find("rows could be decoded"), std::string::npos) << partial.warnings[0];
    ASSERT_EQ(partial.pixels.size(), image.size());
    // About half of the rows are there; the rest are black.
    int good = 0;
    while (good < image.rows && cv::norm(partial.pixels.row(good), image.row(good), cv::NORM_INF) == 0) ++good;
    EXPECT_GT(good, 20);
    EXPECT_LT(good, 40);
    EXPECT_EQ(cv::countNonZero(partial.pixels.rowRange(good, image.rows).reshape(1)), 0);
}

TEST(PngCodec, MissingIendIsTruncationButThePixelsAreWhole) {
    const cv::Mat image = random_pixels(10, 10, CV_8UC4);
    const Bytes png = encode_png(image, EncodeOptions{}, {});
    for (long missing : {1, 4, 12}) { // inside IEND's CRC, all of it, the whole chunk
        SCOPED_TRACE(missing);
        const Bytes cut(png.begin(), png.end() - missing);
        EXPECT_EQ(decode_error(cut, false), "truncated PNG file: it ends after the image data, before its IEND chunk");
        EXPECT_TRUE(opencv_decode(cut).empty()); // OpenCV refuses it too
        const CodecImage tolerated = decode_png(cut.data(), cut.size(), true);
        EXPECT_SAME_PIXELS(tolerated.pixels, image);
        EXPECT_EQ(tolerated.warnings.size(), 1u);
    }
    Bytes bad_end = png;
    bad_end.back() ^= 1;
    EXPECT_EQ(decode_error(bad_end, false), "damaged PNG file: CRC error in chunk IEND");
    EXPECT_SAME_PIXELS(decode_png(bad_end.data(), bad_end.size(), true).pixels, image);
}

TEST(PngCodec, TruncatedInterlacedFileKeepsItsFirstPasses) {
    const uint32_t w = 48, h = 40;
    const Bytes png = write_png(w, h, 8, SPNG_COLOR_TYPE_TRUECOLOR, random_bytes(size_t(w) * h * 3, 77), true);
    const cv::Mat whole = decode_png(png.data(), png.size(), false).pixels;
    const Bytes cut(png.begin(), png.begin() + long(png.size() * 6 / 10)); // in pass 6 or 7 of 7
    EXPECT_EQ(decode_error(cut, false).rfind("truncated PNG file", 0), 0u);

    const CodecImage partial = decode_png(cut.data(), cut.size(), true);
    ASSERT_EQ(partial.warnings.size(), 1u);
    EXPECT_NE(partial.warnings[0].find("interlaced image is incomplete"), std::string::npos) << partial.warnings[0];
    ASSERT_EQ(partial.pixels.size(), whole.size());
    // Pass 1 (every 8th pixel of every 8th row) is at the start of the data; pass 7 (the odd
    // rows, half the data) at its end.
    for (uint32_t y = 0; y < h; y += 8)
        for (uint32_t x = 0; x < w; x += 8)
            EXPECT_EQ(partial.pixels.at<cv::Vec3b>(int(y), int(x)), whole.at<cv::Vec3b>(int(y), int(x)));
    EXPECT_EQ(cv::countNonZero(partial.pixels.row(int(h) - 1).reshape(1)), 0);
}

TEST(PngCodec, UnknownCriticalChunkIsRefusedAsByOpenCv) {
    const Bytes png = insert_after_ihdr(encode_png(random_pixels(8, 8, CV_8UC3), EncodeOptions{}, {}),
                                        make_chunk("XtRA", {1, 2, 3}));
    EXPECT_TRUE(opencv_decode(png).empty());
    for (bool tolerate : {false, true}) {
        const std::string message = decode_error(png, tolerate);
        EXPECT_EQ(message.rfind("damaged PNG file: ", 0), 0u) << message;
        EXPECT_NE(message.find("XtRA"), std::string::npos) << message;
    }
}

TEST(PngCodec, ProfileUnderAnInvalidNameIsDropped) {
    // An empty name, as exiv2 writes it: libspng dropped such a chunk, and decode_image reads
    // the profile through exiv2 instead; a valid name for comparison.
    const Bytes icc = srgb_profile();
    const cv::Mat image = random_pixels(9, 7, CV_8UC3);
    const Bytes plain = encode_png(image, EncodeOptions{}, {});
    const Bytes named = insert_after_ihdr(plain, make_chunk("iCCP", iccp_body("sRGB", icc, icc.size())));
    EXPECT_EQ(decode_png(named.data(), named.size(), false).icc, icc);
    const Bytes unnamed = insert_after_ihdr(plain, make_chunk("iCCP", iccp_body("", icc, icc.size())));
    const CodecImage decoded = decode_png(unnamed.data(), unnamed.size(), false);
    EXPECT_TRUE(decoded.icc.empty());
    EXPECT_TRUE(decoded.warnings.empty());
    EXPECT_SAME_PIXELS(decoded.pixels, image);
}

TEST(PngCodec, ProfileInflatingPastTheLimitIsRefused) {
    // 65 MiB of profile in a few hundred KiB of chunk: a decompression bomb.
    const Bytes zeros(1 << 20, 0);
    const Bytes png = insert_after_ihdr(encode_png(random_pixels(4, 4, CV_8UC3), EncodeOptions{}, {}),
                                        make_chunk("iCCP", iccp_body("bomb", zeros, size_t(65) << 20)));
    ASSERT_LT(png.size(), size_t(1) << 20);
    for (bool tolerate : {false, true})
        EXPECT_NE(decode_error(png, tolerate).find("likely decompression bomb"), std::string::npos);
}

TEST(PngCodec, HeaderClaimingAHugeImageIsRefusedBeforeAllocating) {
    Bytes png = encode_png(cv::Mat(1, 1, CV_8UC3, cv::Scalar(1, 2, 3)), EncodeOptions{}, {});
    // IHDR: 100000 x 100000 RGB, CRC fixed up so that only the size is wrong.
    const uint8_t size[8] = {0, 1, 0x86, 0xA0, 0, 1, 0x86, 0xA0};
    std::memcpy(png.data() + 16, size, 8);
    const uint32_t crc = png_crc32(png.data() + 12, 17);
    for (int i = 0; i < 4; ++i) png[29 + size_t(i)] = uint8_t(crc >> (24 - 8 * i));
    for (bool tolerate : {false, true}) EXPECT_EQ(decode_error(png, tolerate).rfind("truncated PNG file", 0), 0u);
}

TEST(PngCodec, EveryTruncationAndCorruptionIsADecodeErrorOrAnImage) {
    const Bytes png = encode_png(random_pixels(24, 16, CV_16UC4), EncodeOptions{}, srgb_profile());
    for (size_t n = 0; n < png.size(); n += 7) {
        const Bytes cut(png.begin(), png.begin() + long(n));
        for (bool tolerate : {false, true}) {
            try {
                const CodecImage image = decode_png(cut.data(), cut.size(), tolerate);
                EXPECT_TRUE(tolerate) << "a cut file decoded without complaint at " << n;
                EXPECT_FALSE(image.warnings.empty());
            } catch (const DecodeError &e) {
                EXPECT_GT(std::strlen(e.what()), 10u);
            }
        }
    }
    std::mt19937 rng(42);
    for (int i = 0; i < 300; ++i) {
        Bytes damaged = png;
        for (int k = 0; k < 3; ++k) damaged[rng() % damaged.size()] ^= uint8_t(1 + rng() % 255);
        for (bool tolerate : {false, true}) {
            try {
                decode_png(damaged.data(), damaged.size(), tolerate);
            } catch (const DecodeError &) {}
        }
    }
    EXPECT_EQ(decode_error(Bytes{'n', 'o', 't', ' ', 'a', ' ', 'p', 'n', 'g'}, false),
              "damaged PNG file: it does not start with the PNG signature");
    EXPECT_EQ(decode_error(Bytes{}, true), "empty PNG file");
}

} // namespace
