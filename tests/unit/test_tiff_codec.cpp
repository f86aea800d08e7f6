// The tiff codec module (batchproc's TIFF codec over libtiff, framework/codec_modules/tiff)
// against OpenCV's libtiff reader: files from cv::imencode and files written here with
// libtiff (every layout: strips, tiles, planar, compressions, alpha kinds, palette, YCbCr
// JPEG, CMYK, 1-bit, orientations), then damaged on purpose. Everything goes through the
// module's table, as the engine calls it.
#include "codec/codec_image.hpp"
#include "codec/codec_module.hpp"
#include "codec/decode_error.hpp"
#include "codec/encode_options.hpp"

#include "support/image_bytes.hpp"

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <tiffio.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

using batchproc::CodecImage;
using batchproc::CodecModuleApi;
using batchproc::DecodeError;
using batchproc::EncodeError;
using batchproc::EncodeOptions;
using batchproc::test::encode_image;
using batchproc::test::random_pixels;
using batchproc::test::srgb_profile;

namespace {

using Bytes = std::vector<uint8_t>;

const CodecModuleApi &tiff_module() { return batchproc::codec_module("tiff"); }

// The module's decode, its error sentence thrown as the engine throws it.
CodecImage decode_tiff(const uint8_t *data, size_t size) {
    CodecImage image;
    std::string error;
    if (!tiff_module().decode(data, size, image, error)) throw DecodeError(error);
    return image;
}

Bytes encode_tiff(const cv::Mat &image, const EncodeOptions &options, const Bytes &icc) {
    Bytes out;
    std::string error;
    if (!tiff_module().encode(image, "tiff", options, icc, out, error)) throw EncodeError(error);
    return out;
}

cv::Mat opencv_decode(const Bytes &b) { return cv::imdecode(b, cv::IMREAD_UNCHANGED); }

std::string decode_error(const Bytes &b) {
    try {
        decode_tiff(b.data(), b.size());
    } catch (const DecodeError &e) {
        return e.what();
    }
    return "";
}

// ---- Fixtures libtiff writes ---------------------------------------------------------------

struct Spec {
    uint16_t bits = 8;
    uint16_t photometric = PHOTOMETRIC_RGB;
    uint16_t planar = PLANARCONFIG_CONTIG;
    uint16_t compression = COMPRESSION_NONE;
    uint16_t predictor = PREDICTOR_NONE;
    std::vector<uint16_t> extra; // EXTRASAMPLES; samples beyond the colour ones without it: unspecified
    uint32_t tile = 0;           // tile side, 0: strips
    uint32_t rows_per_strip = 5;
    uint16_t orientation = ORIENTATION_TOPLEFT;
    bool big_endian = false;
    std::vector<uint16_t> colormap; // palette: red, green, blue tables
    Bytes icc;
    int pages = 1;
};

// Packs one row of 1/2/4-bit values, first pixel in the high bits.
Bytes pack_row(const uint8_t *values, int n, int bits) {
    Bytes row(size_t((n * bits + 7) / 8), 0);
    for (int x = 0; x < n; ++x) row[size_t(x * bits / 8)] |= uint8_t(values[x] << (8 - bits - (x * bits) % 8));
    return row;
}

// Writes `samples` (file order: R, G, B, A...; host-endian; for 1/2/4 bits one channel of
// values 0..2^bits-1) as a TIFF through a temporary file.
Bytes write_tiff(const Spec &s, const cv::Mat &samples) {
    static int counter = 0;
    const std::filesystem::path path =
        std::filesystem::temp_directory_path() /
        ("bp_test_tiff_" + std::to_string(getpid()) + "_" + std::to_string(counter++) + ".tif");
    TIFF *t = TIFFOpen(path.c_str(), s.big_endian ? "wb" : "wl");
    EXPECT_NE(t, nullptr);
    if (!t) return {};
    const int w = samples.cols, h = samples.rows, spp = samples.channels();
    const size_t bytes = s.bits == 16 ? 2 : 1;
    for (int page = 0; page < s.pages; ++page) {
        TIFFSetField(t, TIFFTAG_IMAGEWIDTH, uint32_t(w));
        TIFFSetField(t, TIFFTAG_IMAGELENGTH, uint32_t(h));
        TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, s.bits);
        TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, uint16_t(spp));
        TIFFSetField(t, TIFFTAG_PHOTOMETRIC, s.photometric);
        TIFFSetField(t, TIFFTAG_PLANARCONFIG, s.planar);
        TIFFSetField(t, TIFFTAG_COMPRESSION, s.compression);
        TIFFSetField(t, TIFFTAG_ORIENTATION, s.orientation);
        if (s.predictor != PREDICTOR_NONE) TIFFSetField(t, TIFFTAG_PREDICTOR, s.predictor);
        if (!s.extra.empty()) TIFFSetField(t, TIFFTAG_EXTRASAMPLES, uint16_t(s.extra.size()), s.extra.data());
        if (!s.icc.empty()) TIFFSetField(t, TIFFTAG_ICCPROFILE, uint32_t(s.icc.size()), s.icc.data());
        if (!s.colormap.empty()) {
            const size_t n = s.colormap.size() / 3;
            TIFFSetField(t, TIFFTAG_COLORMAP, s.colormap.data(), s.colormap.data() + n, s.colormap.data() + 2 * n);
        }
        if (s.compression == COMPRESSION_JPEG) {
            TIFFSetField(t, TIFFTAG_JPEGQUALITY, 90);
            if (s.photometric == PHOTOMETRIC_YCBCR) TIFFSetField(t, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
        }
        const bool separate = s.planar == PLANARCONFIG_SEPARATE;
        const int planes = separate ? spp : 1, block_spp = separate ? 1 : spp;
        const uint32_t bw = s.tile ? s.tile : uint32_t(w), bh = s.tile ? s.tile : s.rows_per_strip;
        if (s.tile) {
            TIFFSetField(t, TIFFTAG_TILEWIDTH, bw);
            TIFFSetField(t, TIFFTAG_TILELENGTH, bh);
        } else {
            TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, bh);
        }
        for (int plane = 0; plane < planes; ++plane) {
            for (uint32_t y0 = 0; y0 < uint32_t(h); y0 += bh) {
                for (uint32_t x0 = 0; x0 < uint32_t(w); x0 += bw) {
                    const uint32_t rows = s.tile ? bh : std::min<uint32_t>(bh, uint32_t(h) - y0);
                    Bytes block;
                    for (uint32_t r = 0; r < rows; ++r) {
                        Bytes row(size_t(bw) * size_t(block_spp) * bytes, 0);
                        const int y = int(y0 + r);
                        for (uint32_t x = x0; y < h && x < std::min<uint32_t>(x0 + bw, uint32_t(w)); ++x)
                            for (int k = 0; k < block_spp; ++k)
                                std::memcpy(row.data() + ((x - x0) * size_t(block_spp) + size_t(k)) * bytes,
                                            samples.ptr<uint8_t>(y, int(x)) + size_t(separate ? plane : k) * bytes,
                                            bytes);
                        if (s.bits < 8) row = pack_row(row.data(), w, s.bits);
                        block.insert(block.end(), row.begin(), row.end());
                    }
                    const tmsize_t n = tmsize_t(block.size());
                    const tmsize_t written =
                        s.tile
                            ? TIFFWriteEncodedTile(t, TIFFComputeTile(t, x0, y0, 0, uint16_t(plane)), block.data(), n)
                            : TIFFWriteEncodedStrip(t, TIFFComputeStrip(t, y0, uint16_t(plane)), block.data(), n);
                    EXPECT_GE(written, 0);
                }
            }
        }
        TIFFWriteDirectory(t);
    }
    TIFFClose(t);
    std::ifstream in(path, std::ios::binary);
    Bytes out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::filesystem::remove(path);
    return out;
}

// What the samples are as batchproc holds pixels: gray, BGR, BGRA.
cv::Mat as_stored(const cv::Mat &samples, bool gray) {
    cv::Mat out;
    if (gray)
        cv::extractChannel(samples, out, 0);
    else if (samples.channels() == 3)
        cv::cvtColor(samples, out, cv::COLOR_RGB2BGR);
    else
        cv::cvtColor(samples, out, cv::COLOR_RGBA2BGRA);
    return out;
}

// ---- Round trips ---------------------------------------------------------------------------

// Straight alpha, translucent pixels included: an 8-bit round trip through OpenCV 4.6
// premultiplies them (its RGBA reader does that to unassociated alpha); ours keeps them.
cv::Mat premultiplied(const cv::Mat &bgra) {
    cv::Mat out = bgra.clone();
    for (int y = 0; y < out.rows; ++y)
        for (int x = 0; x < out.cols; ++x) {
            cv::Vec4b &p = out.at<cv::Vec4b>(y, x);
            for (int c = 0; c < 3; ++c) p[c] = uint8_t((p[c] * p[3] + 127) / 255); // libtiff's UaToAa
        }
    return out;
}

TEST(TiffCodec, RoundTripsEveryDepthAndChannelCount) {
    for (int depth : {CV_8U, CV_16U}) {
        for (int channels : {1, 3, 4}) {
            SCOPED_TRACE("depth " + std::to_string(depth) + ", channels " + std::to_string(channels));
            const cv::Mat image = random_pixels(37, 29, CV_MAKETYPE(depth, channels), uint64_t(channels));
            const Bytes tiff = encode_tiff(image, EncodeOptions{}, {});
            const CodecImage back = decode_tiff(tiff.data(), tiff.size());
            EXPECT_SAME_PIXELS(back.pixels, image);
            EXPECT_TRUE(back.icc.empty());
            EXPECT_TRUE(back.warnings.empty());
            if (depth == CV_8U && channels == 4)
                EXPECT_SAME_PIXELS(opencv_decode(tiff), premultiplied(image));
            else
                EXPECT_SAME_PIXELS(opencv_decode(tiff), image);
        }
    }
}

TEST(TiffCodec, OpaqueAlphaRoundTripsThroughOpenCvToo) {
    cv::Mat image = random_pixels(20, 12, CV_8UC4);
    cv::Mat alpha(image.size(), CV_8UC1, cv::Scalar(255));
    cv::insertChannel(alpha, image, 3);
    const Bytes tiff = encode_tiff(image, EncodeOptions{}, {});
    EXPECT_SAME_PIXELS(opencv_decode(tiff), image);
}

TEST(TiffCodec, WritesLzwWithPredictorAndUnassociatedAlpha) {
    const Bytes tiff = encode_tiff(random_pixels(16, 16, CV_16UC4), EncodeOptions{}, {});
    // Read the tags back with libtiff itself.
    const std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("bp_test_tiff_tags_" + std::to_string(getpid()) + ".tif");
    batchproc::test::write_bytes(path, tiff);
    TIFF *t = TIFFOpen(path.c_str(), "r");
    ASSERT_NE(t, nullptr);
    uint16_t compression = 0, predictor = 0, count = 0, bits = 0;
    uint16_t *extra = nullptr;
    TIFFGetField(t, TIFFTAG_COMPRESSION, &compression);
    TIFFGetField(t, TIFFTAG_PREDICTOR, &predictor);
    TIFFGetField(t, TIFFTAG_BITSPERSAMPLE, &bits);
    TIFFGetField(t, TIFFTAG_EXTRASAMPLES, &count, &extra);
    EXPECT_EQ(compression, COMPRESSION_LZW);
    EXPECT_EQ(predictor, PREDICTOR_HORIZONTAL);
    EXPECT_EQ(bits, 16);
    ASSERT_EQ(count, 1);
    EXPECT_EQ(extra[0], EXTRASAMPLE_UNASSALPHA);
    TIFFClose(t);
    std::filesystem::remove(path);
}

TEST(TiffCodec, IccProfileRoundTripsByteForByte) {
    const Bytes icc = srgb_profile();
    const cv::Mat image = random_pixels(30, 20, CV_16UC3);
    const Bytes tiff = encode_tiff(image, EncodeOptions{}, icc);
    const CodecImage back = decode_tiff(tiff.data(), tiff.size());
    EXPECT_EQ(back.icc, icc);
    EXPECT_SAME_PIXELS(back.pixels, image);
    EXPECT_SAME_PIXELS(opencv_decode(tiff), image);
}

TEST(TiffCodec, EncodesANonContinuousRegionInSeveralStrips) {
    const cv::Mat big = random_pixels(300, 200, CV_8UC3);
    const cv::Mat roi = big(cv::Rect(11, 13, 250, 150));
    const Bytes tiff = encode_tiff(roi, EncodeOptions{}, {}); // several strips
    EXPECT_SAME_PIXELS(decode_tiff(tiff.data(), tiff.size()).pixels, roi);
    EXPECT_SAME_PIXELS(opencv_decode(tiff), roi);
}

TEST(TiffCodec, RefusesWhatItCannotWrite) {
    EXPECT_THROW(encode_tiff(cv::Mat(), EncodeOptions{}, {}), EncodeError);
    EXPECT_THROW(encode_tiff(cv::Mat(4, 4, CV_32FC1, cv::Scalar(0.5)), EncodeOptions{}, {}), EncodeError);
    EXPECT_THROW(encode_tiff(cv::Mat(4, 4, CV_8UC2, cv::Scalar(1, 2)), EncodeOptions{}, {}), EncodeError);
}

TEST(TiffCodec, ModuleWritesTiffOnly) {
    EXPECT_TRUE(tiff_module().can_encode("tiff"));
    EXPECT_TRUE(tiff_module().can_encode("tif"));
    EXPECT_FALSE(tiff_module().can_encode("png"));
    Bytes out;
    std::string error;
    EXPECT_FALSE(tiff_module().encode(random_pixels(4, 4, CV_8UC3), "png", EncodeOptions{}, {}, out, error));
    EXPECT_EQ(error, "the tiff codec module writes .tif and .tiff, not .png");
}

// ---- Decoding as OpenCV does -------------------------------------------------------------

TEST(TiffCodec, DecodesOpenCvFilesAsOpenCvDoes) {
    for (int depth : {CV_8U, CV_16U}) {
        for (int channels : {1, 3, 4}) {
            for (int compression : {COMPRESSION_NONE, COMPRESSION_LZW, COMPRESSION_ADOBE_DEFLATE}) {
                SCOPED_TRACE("depth " + std::to_string(depth) + ", channels " + std::to_string(channels) +
                             ", compression " + std::to_string(compression));
                const Bytes tiff = encode_image(".tiff", random_pixels(41, 23, CV_MAKETYPE(depth, channels), 9),
                                                {cv::IMWRITE_TIFF_COMPRESSION, compression});
                EXPECT_SAME_PIXELS(decode_tiff(tiff.data(), tiff.size()).pixels, opencv_decode(tiff));
            }
        }
    }
}

struct Kind {
    const char *name;
    uint16_t photometric;
    int samples;
    std::vector<uint16_t> extra;
};

TEST(TiffCodec, EveryLayoutAsOpenCvOrAsStored) {
    const std::vector<Kind> kinds = {
        {"gray", PHOTOMETRIC_MINISBLACK, 1, {}},
        {"gray+alpha", PHOTOMETRIC_MINISBLACK, 2, {EXTRASAMPLE_ASSOCALPHA}},
        {"rgb", PHOTOMETRIC_RGB, 3, {}},
        {"rgba (unspecified)", PHOTOMETRIC_RGB, 4, {}},
        {"rgba (associated)", PHOTOMETRIC_RGB, 4, {EXTRASAMPLE_ASSOCALPHA}},
        {"rgba (unassociated)", PHOTOMETRIC_RGB, 4, {EXTRASAMPLE_UNASSALPHA}},
    };
    struct Layout {
        const char *name;
        uint16_t planar;
        uint32_t tile;
    };
    const Layout layouts[] = {{"chunky strips", PLANARCONFIG_CONTIG, 0},
                              {"planar strips", PLANARCONFIG_SEPARATE, 0},
                              {"chunky tiles", PLANARCONFIG_CONTIG, 16},
                              {"planar tiles", PLANARCONFIG_SEPARATE, 16}};
    const uint16_t compressions[] = {COMPRESSION_NONE, COMPRESSION_LZW, COMPRESSION_ADOBE_DEFLATE,
                                     COMPRESSION_PACKBITS};
    int index = 0, opencv_failed = 0, opencv_differs = 0;
    for (uint16_t bits : {8, 16}) {
        for (const Kind &kind : kinds) {
            for (const Layout &layout : layouts) {
                for (bool big_endian : {false, true}) {
                    Spec s;
                    s.bits = bits;
                    s.photometric = kind.photometric;
                    s.extra = kind.extra;
                    s.planar = layout.planar;
                    s.tile = layout.tile;
                    s.big_endian = big_endian;
                    s.compression = compressions[index % 4];
                    if (s.compression != COMPRESSION_NONE && s.compression != COMPRESSION_PACKBITS && index % 3 != 0)
                        s.predictor = PREDICTOR_HORIZONTAL;
                    ++index;
                    SCOPED_TRACE(std::to_string(bits) + "-bit " + kind.name + ", " + layout.name + ", compression " +
                                 std::to_string(s.compression) + (big_endian ? ", big-endian" : ""));
                    const cv::Mat samples =
                        random_pixels(37, 22, CV_MAKETYPE(bits == 16 ? CV_16U : CV_8U, kind.samples), uint64_t(index));
                    const Bytes tiff = write_tiff(s, samples);
                    const cv::Mat ours = decode_tiff(tiff.data(), tiff.size()).pixels;
                    const cv::Mat stored = as_stored(samples, kind.photometric == PHOTOMETRIC_MINISBLACK);
                    EXPECT_SAME_PIXELS(ours, stored);
                    // Where OpenCV 4.6 gets it wrong, batchproc keeps the stored values:
                    // it premultiplies 8-bit unassociated alpha; it reads 16-bit planar
                    // files as if they were chunky; it returns 16-bit gray + alpha as
                    // 8-bit gray; libtiff's RGBA reader, which it uses for 8 bits, shifts
                    // gray + alpha pixels in tiles cut by the right edge.
                    const bool unassociated = kind.extra == std::vector<uint16_t>{EXTRASAMPLE_UNASSALPHA};
                    const bool opencv_wrong =
                        (bits == 8 && unassociated) ||
                        (bits == 16 && layout.planar == PLANARCONFIG_SEPARATE && kind.samples > 1) ||
                        (bits == 16 && kind.samples == 2) ||
                        (bits == 8 && kind.samples == 2 && layout.tile != 0 && layout.planar == PLANARCONFIG_CONTIG);
                    const cv::Mat theirs = opencv_decode(tiff);
                    if (theirs.empty()) {
                        ++opencv_failed; // 8-bit uncompressed tiles: OpenCV 4.6 fails; batchproc reads them
                        EXPECT_TRUE(bits == 8 && layout.tile != 0 && s.compression == COMPRESSION_NONE);
                    } else if (opencv_wrong) {
                        ++opencv_differs; // fails once an OpenCV agrees, so that this list stays true
                        EXPECT_TRUE(theirs.type() != ours.type() || cv::norm(ours, theirs, cv::NORM_INF) != 0);
                    } else {
                        EXPECT_SAME_PIXELS(ours, theirs);
                    }
                }
            }
        }
    }
    std::printf("of %d files, OpenCV 4.6 could not read %d and read %d differently (see above)\n", index, opencv_failed,
                opencv_differs);
}

std::vector<uint16_t> colormap(int entries) {
    std::vector<uint16_t> map(size_t(entries) * 3);
    for (int i = 0; i < entries; ++i) {
        map[size_t(i)] = uint16_t((i * 37 % 256) * 257);
        map[size_t(entries + i)] = uint16_t((255 - i % 256) * 257);
        map[size_t(2 * entries + i)] = uint16_t((i * 11 % 256) * 257);
    }
    return map;
}

TEST(TiffCodec, UnusualKindsFallBackToLibtiffsRgbaInterfaceAsOpenCvDoes) {
    struct Case {
        std::string name;
        Spec spec;
        cv::Mat samples;
        int channels;     // what OpenCV gives
        cv::Mat expected; // for files OpenCV 4.6 cannot read: what they hold
    };
    std::vector<Case> cases;
    auto values = [](int bits, uint64_t seed) { // 0 .. 2^bits - 1
        cv::Mat m = random_pixels(29, 17, CV_8UC1, seed);
        for (auto it = m.begin<uint8_t>(); it != m.end<uint8_t>(); ++it) *it = uint8_t(*it >> (8 - bits));
        return m;
    };
    {
        Spec s;
        s.photometric = PHOTOMETRIC_PALETTE;
        s.colormap = colormap(256);
        cases.push_back({"8-bit palette", s, random_pixels(29, 17, CV_8UC1, 1), 3, {}});
        s.bits = 4;
        s.colormap = colormap(16);
        const cv::Mat indices = values(4, 2);
        cv::Mat bgr(indices.size(), CV_8UC3);
        for (int y = 0; y < bgr.rows; ++y)
            for (int x = 0; x < bgr.cols; ++x) {
                const int i = indices.at<uint8_t>(y, x);
                bgr.at<cv::Vec3b>(y, x) =
                    cv::Vec3b(uint8_t(s.colormap[size_t(32 + i)] >> 8), uint8_t(s.colormap[size_t(16 + i)] >> 8),
                              uint8_t(s.colormap[size_t(i)] >> 8));
            }
        cases.push_back({"4-bit palette", s, indices, 3, bgr});
    }
    for (uint16_t photometric : {PHOTOMETRIC_MINISBLACK, PHOTOMETRIC_MINISWHITE}) {
        for (uint16_t bits : {1, 2, 4}) {
            Spec s;
            s.photometric = photometric;
            s.bits = bits;
            if (bits == 1) s.compression = COMPRESSION_CCITTFAX4;
            const cv::Mat v = values(bits, bits);
            cv::Mat expected = v * (255 / ((1 << bits) - 1)); // scaled to 0..255
            if (photometric == PHOTOMETRIC_MINISWHITE) expected = 255 - expected;
            cases.push_back(
                {std::to_string(bits) + "-bit " + (photometric == PHOTOMETRIC_MINISBLACK ? "gray" : "min-is-white"), s,
                 v, 1, bits == 1 ? cv::Mat() : expected});
        }
    }
    {
        Spec s;
        s.photometric = PHOTOMETRIC_MINISWHITE;
        cases.push_back({"8-bit min-is-white", s, random_pixels(29, 17, CV_8UC1, 3), 1, {}});
    }
    {
        Spec s;
        s.photometric = PHOTOMETRIC_YCBCR;
        s.compression = COMPRESSION_JPEG;
        s.rows_per_strip = 16;
        cases.push_back({"YCbCr JPEG", s, random_pixels(40, 32, CV_8UC3, 4), 3, {}});
        s.tile = 16;
        cases.push_back({"YCbCr JPEG in tiles", s, random_pixels(40, 32, CV_8UC3, 4), 3, {}});
    }
    {
        Spec s;
        s.photometric = PHOTOMETRIC_RGB;
        s.compression = COMPRESSION_JPEG;
        s.rows_per_strip = 16;
        cases.push_back({"RGB JPEG", s, random_pixels(40, 32, CV_8UC3, 5), 3, {}});
    }
    {
        Spec s;
        s.photometric = PHOTOMETRIC_SEPARATED; // CMYK
        cases.push_back({"CMYK", s, random_pixels(29, 17, CV_8UC4, 6), 4, {}});
    }
    for (Case &c : cases) {
        SCOPED_TRACE(c.name);
        const Bytes tiff = write_tiff(c.spec, c.samples);
        const cv::Mat ours = decode_tiff(tiff.data(), tiff.size()).pixels;
        EXPECT_EQ(ours.channels(), c.channels);
        EXPECT_EQ(ours.depth(), CV_8U);
        if (c.expected.empty()) {
            EXPECT_SAME_PIXELS(ours, opencv_decode(tiff));
        } else { // OpenCV 4.6 refuses 2- and 4-bit samples
            EXPECT_TRUE(opencv_decode(tiff).empty());
            EXPECT_SAME_PIXELS(ours, c.expected);
        }
    }
}

TEST(TiffCodec, SixteenBitMinIsWhiteIsReadAsStoredAsInOpenCv) {
    Spec s;
    s.bits = 16;
    s.photometric = PHOTOMETRIC_MINISWHITE;
    const cv::Mat samples = random_pixels(19, 11, CV_16UC1);
    const Bytes tiff = write_tiff(s, samples);
    const cv::Mat ours = decode_tiff(tiff.data(), tiff.size()).pixels;
    EXPECT_SAME_PIXELS(ours, samples); // not inverted: OpenCV inverts only 8-bit MinIsWhite
    EXPECT_SAME_PIXELS(ours, opencv_decode(tiff));
}

TEST(TiffCodec, KindsLibtiffCannotConvertAreUnsupported) {
    Spec s;
    s.photometric = PHOTOMETRIC_SEPARATED; // 16-bit CMYK: no RGBA conversion in libtiff 4.5
    s.bits = 16;
    const Bytes tiff = write_tiff(s, random_pixels(9, 7, CV_16UC4));
    EXPECT_TRUE(opencv_decode(tiff).empty());
    EXPECT_EQ(decode_error(tiff).rfind("unsupported TIFF file: ", 0), 0u) << decode_error(tiff);
}

TEST(TiffCodec, OrientationAsOpenCv) {
    // OpenCV 4.6 turns every orientation upright, 8 and 16 bits alike.
    for (uint16_t orientation = ORIENTATION_TOPLEFT; orientation <= ORIENTATION_LEFTBOT; ++orientation) {
        for (int variant = 0; variant < 3; ++variant) {
            Spec s;
            s.orientation = orientation;
            cv::Mat samples;
            if (variant == 0) { // direct, 8-bit RGB in tiles
                s.tile = 16;
                s.compression = COMPRESSION_LZW; // OpenCV 4.6 fails on some uncompressed tiles
                samples = random_pixels(21, 13, CV_8UC3, orientation);
            } else if (variant == 1) { // direct, 16-bit gray
                s.bits = 16;
                s.photometric = PHOTOMETRIC_MINISBLACK;
                samples = random_pixels(21, 13, CV_16UC1, orientation);
            } else { // libtiff's RGBA interface: palette
                s.photometric = PHOTOMETRIC_PALETTE;
                s.colormap = colormap(256);
                samples = random_pixels(21, 13, CV_8UC1, orientation);
            }
            SCOPED_TRACE("orientation " + std::to_string(orientation) + ", variant " + std::to_string(variant));
            const Bytes tiff = write_tiff(s, samples);
            const cv::Mat ours = decode_tiff(tiff.data(), tiff.size()).pixels;
            // OpenCV 4.6 mirrors tiles in place instead of the whole image when the
            // orientation flips left-right: compare with the same pixels in strips.
            Spec strips = s;
            strips.tile = 0;
            EXPECT_SAME_PIXELS(ours, opencv_decode(s.tile ? write_tiff(strips, samples) : tiff));
            EXPECT_EQ(ours.cols, orientation >= ORIENTATION_LEFTTOP ? 13 : 21);
        }
    }
}

TEST(TiffCodec, ProbeGivesTheSizeAsDecoded) {
    for (uint16_t orientation : {ORIENTATION_TOPLEFT, ORIENTATION_BOTRIGHT, ORIENTATION_LEFTTOP, ORIENTATION_LEFTBOT}) {
        SCOPED_TRACE("orientation " + std::to_string(orientation));
        Spec s;
        s.orientation = orientation;
        const Bytes tiff = write_tiff(s, random_pixels(21, 13, CV_8UC3));
        int64_t width = 0, height = 0;
        std::string error;
        ASSERT_TRUE(tiff_module().probe(tiff.data(), tiff.size(), width, height, error)) << error;
        const cv::Mat decoded = decode_tiff(tiff.data(), tiff.size()).pixels;
        EXPECT_EQ(width, decoded.cols);
        EXPECT_EQ(height, decoded.rows);
    }
    int64_t width = 0, height = 0;
    std::string error;
    const Bytes cut{'I', 'I', 42, 0};
    EXPECT_FALSE(tiff_module().probe(cut.data(), cut.size(), width, height, error));
    EXPECT_EQ(error, "truncated TIFF file: it ends before the directory of its first page");
}

TEST(TiffCodec, FirstPageOfSeveralWithANote) {
    Spec s;
    s.pages = 3;
    const cv::Mat samples = random_pixels(10, 8, CV_8UC3);
    const Bytes tiff = write_tiff(s, samples);
    const CodecImage image = decode_tiff(tiff.data(), tiff.size());
    EXPECT_SAME_PIXELS(image.pixels, opencv_decode(tiff));
    ASSERT_EQ(image.warnings.size(), 1u);
    EXPECT_EQ(image.warnings[0], "TIFF: only the first of its 3 pages was decoded");
}

TEST(TiffCodec, IccProfileFromAnotherWriter) {
    Spec s;
    s.icc = srgb_profile();
    s.tile = 16;
    const Bytes tiff = write_tiff(s, random_pixels(20, 20, CV_8UC3));
    EXPECT_EQ(decode_tiff(tiff.data(), tiff.size()).icc, s.icc);
}

// ---- What it refuses ---------------------------------------------------------------------

TEST(TiffCodec, UnsupportedSampleKindsAreSentences) {
    Spec five;
    five.extra = {EXTRASAMPLE_UNASSALPHA, EXTRASAMPLE_UNSPECIFIED};
    EXPECT_EQ(decode_error(write_tiff(five, random_pixels(8, 8, CV_8UC(5)))),
              "unsupported TIFF file: 5 samples per pixel (1 to 4 are supported)");
    const Bytes floats = encode_image(".tiff", cv::Mat(8, 8, CV_32FC1, cv::Scalar(0.25)));
    EXPECT_EQ(decode_error(floats).rfind("unsupported TIFF file: 32-bit floating-point samples", 0), 0u)
        << decode_error(floats);
}

// A little-endian TIFF: header, one directory claiming `w` x `h` RGB in one strip of
// `strip_bytes` bytes, then the strip (with as many bytes as it claims).
Bytes tiff_claiming(uint32_t w, uint32_t h, uint32_t strip_bytes, uint16_t compression = COMPRESSION_NONE) {
    struct Entry {
        uint16_t tag, type;
        uint32_t count, value;
    };
    const uint32_t entries_size = 9 * 12, strip_at = 8 + 2 + entries_size + 4;
    const Entry entries[] = {{256, 4, 1, w},           {257, 4, 1, h}, {258, 3, 1, 8},
                             {259, 3, 1, compression}, {262, 3, 1, 2}, {273, 4, 1, strip_at},
                             {277, 3, 1, 3},           {278, 4, 1, h}, {279, 4, 1, strip_bytes}};
    Bytes b = {'I', 'I', 42, 0};
    auto u16 = [&](uint32_t v) { b.insert(b.end(), {uint8_t(v), uint8_t(v >> 8)}); };
    auto u32 = [&](uint32_t v) {
        b.insert(b.end(), {uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16), uint8_t(v >> 24)});
    };
    u32(8); // the directory comes first
    u16(uint16_t(std::size(entries)));
    for (const Entry &e : entries) {
        u16(e.tag);
        u16(e.type);
        u32(e.count);
        if (e.type == 3) {
            u16(e.value);
            u16(0);
        } else {
            u32(e.value);
        }
    }
    u32(0); // no next directory
    b.resize(size_t(strip_at) + strip_bytes, 0x80);
    return b;
}

TEST(TiffCodec, HeaderClaimingAHugeImageIsRefusedBeforeAllocating) {
    // 100000 x 100000 RGB would be 30 GB; under AddressSanitizer an attempt would abort.
    // libtiff takes the strip of an uncompressed image to be as long as the image needs...
    EXPECT_EQ(decode_error(tiff_claiming(100000, 100000, 300)),
              "truncated TIFF file: the data of its 100000x100000 image runs past the end of the file");
    // ... a compressed one as long as it says; deflate cannot shrink 30 GB into 300 bytes.
    EXPECT_EQ(
        decode_error(tiff_claiming(100000, 100000, 300, COMPRESSION_ADOBE_DEFLATE)),
        "damaged TIFF file: its header gives a 100000x100000 image, more than its 300 bytes of image data can hold");
    // The same file with a size its data holds decodes.
    const Bytes small = tiff_claiming(10, 10, 300);
    const cv::Mat pixels = decode_tiff(small.data(), small.size()).pixels;
    EXPECT_EQ(pixels.size(), cv::Size(10, 10));
    EXPECT_SAME_PIXELS(pixels, opencv_decode(small));
    EXPECT_NE(decode_error(tiff_claiming(0x90000000u, 1, 300)).find("too large to decode"), std::string::npos);
}

TEST(TiffCodec, TruncatedFilesSayTheyAre) {
    const Bytes tiff = encode_tiff(random_pixels(64, 64, CV_8UC3), EncodeOptions{}, {}); // directory at the end
    const Bytes cut(tiff.begin(), tiff.begin() + long(tiff.size() / 2));
    EXPECT_EQ(decode_error(cut), "truncated TIFF file: it ends before the directory of its first page");
    const Bytes front = tiff_claiming(10, 10, 300); // directory first, pixels cut off
    EXPECT_EQ(decode_error(Bytes(front.begin(), front.end() - 100)),
              "truncated TIFF file: the data of its 10x10 image runs past the end of the file");
    EXPECT_EQ(decode_error(Bytes{'I', 'I', 42}), "truncated TIFF file: it ends before the directory of its first page");
    EXPECT_EQ(decode_error(Bytes{}), "empty TIFF file");
}

TEST(TiffCodec, CorruptCompressedDataNamesTheStrip) {
    Spec s;
    s.compression = COMPRESSION_LZW;
    s.rows_per_strip = 64;
    Bytes lzw = write_tiff(s, random_pixels(64, 64, CV_8UC3));
    // libtiff wrote the one strip right after the 8-byte header; scramble its codes.
    for (size_t i = 40; i < 400; ++i) lzw[i] = 0xFF;
    const std::string message = decode_error(lzw);
    EXPECT_EQ(message.rfind("damaged TIFF file: strip 0 could not be decoded (libtiff: ", 0), 0u) << message;
}

TEST(TiffCodec, EveryTruncationAndCorruptionIsADecodeErrorOrAnImage) {
    Spec s;
    s.compression = COMPRESSION_LZW;
    s.predictor = PREDICTOR_HORIZONTAL;
    s.tile = 16;
    s.extra = {EXTRASAMPLE_UNASSALPHA};
    s.icc = srgb_profile();
    const Bytes tiff = write_tiff(s, random_pixels(40, 24, CV_16UC4));
    for (size_t n = 0; n < tiff.size(); n += 11) {
        const Bytes cut(tiff.begin(), tiff.begin() + long(n));
        try {
            decode_tiff(cut.data(), cut.size());
        } catch (const DecodeError &e) {
            EXPECT_GT(std::strlen(e.what()), 10u);
        }
    }
    std::mt19937 rng(3);
    for (const Bytes &original : {tiff, encode_tiff(random_pixels(30, 20, CV_8UC3), EncodeOptions{}, {})}) {
        for (int i = 0; i < 300; ++i) {
            Bytes damaged = original;
            for (int k = 0; k < 3; ++k) damaged[rng() % damaged.size()] ^= uint8_t(1 + rng() % 255);
            try {
                decode_tiff(damaged.data(), damaged.size());
            } catch (const DecodeError &e) {
                EXPECT_GT(std::strlen(e.what()), 10u);
            }
        }
    }
}

} // namespace
