// decode_image on fixtures built here: cv::imencode output, JPEGs written with libjpeg
// (CMYK/YCCK), hand-built PNGs (gray+alpha), then damaged on purpose.
#include "codec/image_decoder.hpp"
#include "codec/image_encoder.hpp"
#include "codec/image_header.hpp"

#include "support/image_bytes.hpp"

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <jpeglib.h>

using batchproc::DamagedPolicy;
using batchproc::decode_image;
using batchproc::DecodedImage;
using batchproc::DecodeError;
using batchproc::DecodeOptions;
using batchproc::format_megapixels;
using batchproc::shrink_denominator;

using batchproc::test::encode_image;
using batchproc::test::png_crc32;

namespace {

using Bytes = std::vector<uint8_t>;

cv::Mat noise(int w, int h, int type, double lo = 0, double hi = 256) {
    cv::Mat m(h, w, type);
    cv::randu(m, lo, hi);
    return m;
}

// A smooth image: JPEG keeps it close, so colours can be checked.
cv::Mat gradient(int w, int h) {
    cv::Mat m(h, w, CV_8UC3);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) m.at<cv::Vec3b>(y, x) = cv::Vec3b(uint8_t(x * 255 / w), uint8_t(y * 255 / h), 128);
    return m;
}

DecodedImage decode(const Bytes &b, const DecodeOptions &options = {}, int hint = 0) {
    return decode_image(b.data(), b.size(), options, hint);
}

DecodeOptions warn_options() {
    DecodeOptions o;
    o.damaged = DamagedPolicy::warn;
    return o;
}

// The DecodeError message (fails the test when nothing is thrown).
std::string error_of(const Bytes &b, const DecodeOptions &options = {}) {
    try {
        decode(b, options);
    } catch (const DecodeError &e) {
        return e.what();
    } catch (const std::exception &e) {
        ADD_FAILURE() << "not a DecodeError: " << e.what();
        return e.what();
    }
    ADD_FAILURE() << "decoded without an error";
    return "";
}

bool contains(const std::string &s, const std::string &part) { return s.find(part) != std::string::npos; }

bool same_pixels(const cv::Mat &a, const cv::Mat &b) {
    return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

void put_be32(Bytes &b, size_t pos, uint32_t v) {
    b[pos] = uint8_t(v >> 24);
    b[pos + 1] = uint8_t(v >> 16);
    b[pos + 2] = uint8_t(v >> 8);
    b[pos + 3] = uint8_t(v);
}
void push_be32(Bytes &b, uint32_t v) {
    b.resize(b.size() + 4);
    put_be32(b, b.size() - 4, v);
}
void push_le32(Bytes &b, uint32_t v) {
    for (int i = 0; i < 4; ++i) b.push_back(uint8_t(v >> (8 * i)));
}
void append(Bytes &b, const std::string &s) { b.insert(b.end(), s.begin(), s.end()); }

// ---- PNG helpers (a stored-block zlib stream; the CRC is support/image_bytes') ----


Bytes png_chunk(const std::string &type, const Bytes &data, bool good_crc = true) {
    Bytes c;
    push_be32(c, uint32_t(data.size()));
    append(c, type);
    c.insert(c.end(), data.begin(), data.end());
    const uint32_t crc = png_crc32(c.data() + 4, data.size() + 4);
    push_be32(c, good_crc ? crc : crc ^ 0x1234);
    return c;
}

size_t find_chunk(const Bytes &png, const std::string &type) {
    size_t pos = 8;
    while (pos + 8 <= png.size()) {
        const uint32_t len = (uint32_t(png[pos]) << 24) | (png[pos + 1] << 16) | (png[pos + 2] << 8) | png[pos + 3];
        if (std::memcmp(png.data() + pos + 4, type.data(), 4) == 0) return pos;
        pos += len + 12;
    }
    ADD_FAILURE() << "no chunk " << type;
    return 0;
}

// A PNG from raw scanlines (each already prefixed with its filter byte 0).
Bytes make_png(uint32_t w, uint32_t h, uint8_t bit_depth, uint8_t color_type, const Bytes &scanlines) {
    Bytes png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    Bytes ihdr;
    push_be32(ihdr, w);
    push_be32(ihdr, h);
    ihdr.insert(ihdr.end(), {bit_depth, color_type, 0, 0, 0});
    auto chunk = png_chunk("IHDR", ihdr);
    png.insert(png.end(), chunk.begin(), chunk.end());
    Bytes z = {0x78, 0x01};
    size_t pos = 0;
    do { // stored deflate blocks of at most 65535 bytes
        const size_t n = std::min<size_t>(65535, scanlines.size() - pos);
        const bool last = pos + n == scanlines.size();
        z.insert(z.end(), {uint8_t(last), uint8_t(n), uint8_t(n >> 8), uint8_t(~n), uint8_t(~n >> 8)});
        z.insert(z.end(), scanlines.begin() + long(pos), scanlines.begin() + long(pos + n));
        pos += n;
    } while (pos < scanlines.size());
    uint32_t a = 1, b = 0; // Adler-32
    for (uint8_t c : scanlines) {
        a = (a + c) % 65521;
        b = (b + a) % 65521;
    }
    push_be32(z, (b << 16) | a);
    chunk = png_chunk("IDAT", z);
    png.insert(png.end(), chunk.begin(), chunk.end());
    chunk = png_chunk("IEND", {});
    png.insert(png.end(), chunk.begin(), chunk.end());
    return png;
}

Bytes insert_after_ihdr(const Bytes &png, const Bytes &chunk) {
    Bytes out = png;
    out.insert(out.begin() + 33, chunk.begin(), chunk.end());
    return out;
}

// ---- JPEG helpers ----

Bytes exif_block(bool little, uint16_t orientation) {
    Bytes t;
    auto u16 = [&](uint16_t v) {
        if (little) t.insert(t.end(), {uint8_t(v), uint8_t(v >> 8)});
        else t.insert(t.end(), {uint8_t(v >> 8), uint8_t(v)});
    };
    auto u32 = [&](uint32_t v) {
        if (little) { u16(uint16_t(v)); u16(uint16_t(v >> 16)); }
        else { u16(uint16_t(v >> 16)); u16(uint16_t(v)); }
    };
    append(t, little ? "II" : "MM");
    u16(42);
    u32(8);
    u16(1);
    u16(0x0112);
    u16(3);
    u32(1);
    u16(orientation);
    u16(0);
    u32(0);
    return t;
}

// Inserts an APP1 Exif segment after the JFIF APP0 segment, where cameras put it.
Bytes with_exif(const Bytes &jpeg, int orientation, bool little) {
    const Bytes tiff = exif_block(little, uint16_t(orientation));
    Bytes app1 = {0xFF, 0xE1, uint8_t((8 + tiff.size()) >> 8), uint8_t(8 + tiff.size())};
    append(app1, std::string("Exif\0\0", 6));
    app1.insert(app1.end(), tiff.begin(), tiff.end());
    size_t at = 2;
    if (jpeg[2] == 0xFF && jpeg[3] == 0xE0) at = 4 + ((jpeg[4] << 8) | jpeg[5]);
    Bytes out = jpeg;
    out.insert(out.begin() + long(at), app1.begin(), app1.end());
    return out;
}

// Writes a 4-component JPEG with libjpeg. `stored` holds the values exactly as they go into
// the file (Adobe files carry inverted CMYK).
Bytes write_cmyk_jpeg(const cv::Mat &stored, J_COLOR_SPACE jpeg_space, bool adobe_marker) {
    jpeg_compress_struct c{};
    jpeg_error_mgr e{};
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    unsigned char *buffer = nullptr;
    unsigned long length = 0;
    jpeg_mem_dest(&c, &buffer, &length);
    c.image_width = JDIMENSION(stored.cols);
    c.image_height = JDIMENSION(stored.rows);
    c.input_components = 4;
    c.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&c);
    jpeg_set_colorspace(&c, jpeg_space);
    c.write_Adobe_marker = adobe_marker ? TRUE : FALSE;
    jpeg_set_quality(&c, 95, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = const_cast<JSAMPROW>(stored.ptr<uint8_t>(int(c.next_scanline)));
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    Bytes out(buffer, buffer + length);
    std::free(buffer);
    jpeg_destroy_compress(&c);
    return out;
}

bool near_colour(const cv::Vec3b &got, const cv::Vec3b &want, int tolerance) {
    for (int i = 0; i < 3; ++i)
        if (std::abs(int(got[i]) - int(want[i])) > tolerance) return false;
    return true;
}

std::string str(const cv::Vec3b &v) {
    return "(" + std::to_string(v[0]) + "," + std::to_string(v[1]) + "," + std::to_string(v[2]) + ")";
}

} // namespace

// ---- Good files of every kind --------------------------------------------------------------

TEST(ImageDecoder, JpegColourMatchesOpenCv) {
    const Bytes jpeg = encode_image(".jpg", gradient(64, 48), {cv::IMWRITE_JPEG_QUALITY, 90});
    const DecodedImage d = decode(jpeg);
    EXPECT_EQ(d.format, "jpeg");
    EXPECT_EQ(d.pixels.type(), CV_8UC3);
    EXPECT_EQ(d.pixels.cols, 64);
    EXPECT_EQ(d.pixels.rows, 48);
    EXPECT_EQ(d.source_width, 64);
    EXPECT_EQ(d.source_height, 48);
    EXPECT_EQ(d.scale_denominator, 1);
    EXPECT_TRUE(d.warnings.empty());
    // Same library, same IDCT and upsampling: the same pixels as cv::imdecode.
    const cv::Mat reference = cv::imdecode(jpeg, cv::IMREAD_UNCHANGED);
    EXPECT_TRUE(same_pixels(d.pixels, reference));
    // And BGR order: blue grows with x in the gradient.
    EXPECT_LT(d.pixels.at<cv::Vec3b>(24, 2)[0], 20);
    EXPECT_GT(d.pixels.at<cv::Vec3b>(24, 61)[0], 230);
}

TEST(ImageDecoder, ProgressiveJpeg) {
    const Bytes jpeg = encode_image(".jpg", gradient(50, 30), {cv::IMWRITE_JPEG_PROGRESSIVE, 1});
    const DecodedImage d = decode(jpeg);
    EXPECT_EQ(d.pixels.size(), cv::Size(50, 30));
    EXPECT_TRUE(same_pixels(d.pixels, cv::imdecode(jpeg, cv::IMREAD_UNCHANGED)));
}

TEST(ImageDecoder, GrayscaleJpegHasOneChannel) {
    cv::Mat gray(20, 30, CV_8UC1, cv::Scalar(77));
    const DecodedImage d = decode(encode_image(".jpg", gray));
    EXPECT_EQ(d.pixels.type(), CV_8UC1);
    EXPECT_EQ(d.pixels.size(), cv::Size(30, 20));
    EXPECT_NEAR(cv::mean(d.pixels)[0], 77, 1.0);
}

TEST(ImageDecoder, LosslessFormatsAreExact) {
    struct Case {
        std::string ext;
        int type;
        std::vector<int> params;
    };
    const std::vector<Case> cases = {
        {".png", CV_8UC3, {}},         {".png", CV_16UC3, {}},  {".png", CV_8UC4, {}},   {".png", CV_16UC4, {}},
        {".png", CV_8UC1, {}},         {".png", CV_16UC1, {}},  {".tiff", CV_8UC3, {}},  {".tiff", CV_16UC3, {}},
        {".tiff", CV_8UC4, {}},        {".tiff", CV_32FC1, {}}, {".bmp", CV_8UC3, {}},   {".ppm", CV_8UC3, {}},
        {".pgm", CV_16UC1, {}},        {".webp", CV_8UC3, {cv::IMWRITE_WEBP_QUALITY, 101}},
    };
    for (const Case &c : cases) {
        SCOPED_TRACE(c.ext + " type " + std::to_string(c.type));
        const double hi = CV_MAT_DEPTH(c.type) == CV_16U ? 65536 : CV_MAT_DEPTH(c.type) == CV_32F ? 1.0 : 256;
        const cv::Mat image = noise(37, 21, c.type, 0, hi);
        const DecodedImage d = decode(encode_image(c.ext, image, c.params));
        EXPECT_EQ(d.pixels.type(), c.type);
        EXPECT_EQ(d.pixels.size(), cv::Size(37, 21));
        EXPECT_EQ(d.source_width, 37);
        EXPECT_EQ(d.source_height, 21);
        EXPECT_TRUE(same_pixels(d.pixels, image));
        EXPECT_TRUE(d.warnings.empty());
    }
}

TEST(ImageDecoder, LossyWebpAndWebpWithAlpha) {
    const DecodedImage lossy = decode(encode_image(".webp", gradient(40, 24), {cv::IMWRITE_WEBP_QUALITY, 90}));
    EXPECT_EQ(lossy.format, "webp");
    EXPECT_EQ(lossy.pixels.type(), CV_8UC3);
    EXPECT_EQ(lossy.pixels.size(), cv::Size(40, 24));
    EXPECT_LT(cv::norm(lossy.pixels, gradient(40, 24), cv::NORM_L1) / (40 * 24 * 3), 6.0);

    const cv::Mat bgra = noise(16, 9, CV_8UC4, 1, 256); // alpha > 0 keeps the colours exact
    const DecodedImage alpha = decode(encode_image(".webp", bgra, {cv::IMWRITE_WEBP_QUALITY, 101}));
    EXPECT_EQ(alpha.pixels.type(), CV_8UC4);
    EXPECT_TRUE(same_pixels(alpha.pixels, bgra));
}

TEST(ImageDecoder, GrayAlphaPngBecomesBgra) {
    // 3x2, 8-bit gray + alpha: rows of (gray, alpha) pairs, each row after a filter byte 0.
    const Bytes rows = {0, 10, 255, 20, 128, 30, 0, 0, 40, 1, 50, 2, 60, 3};
    const Bytes png = make_png(3, 2, 8, 4, rows);
    const DecodedImage d = decode(png);
    ASSERT_EQ(d.pixels.type(), CV_8UC4);
    ASSERT_EQ(d.pixels.size(), cv::Size(3, 2));
    const int gray[2][3] = {{10, 20, 30}, {40, 50, 60}}, alpha[2][3] = {{255, 128, 0}, {1, 2, 3}};
    for (int y = 0; y < 2; ++y)
        for (int x = 0; x < 3; ++x)
            EXPECT_EQ(d.pixels.at<cv::Vec4b>(y, x), cv::Vec4b(uint8_t(gray[y][x]), uint8_t(gray[y][x]),
                                                             uint8_t(gray[y][x]), uint8_t(alpha[y][x])))
                << x << "," << y;
}

TEST(ImageDecoder, FloatFormatsStayFloat) {
    cv::Mat hdr(6, 10, CV_32FC3, cv::Scalar(0.25, 1.0, 4.0));
    const DecodedImage d = decode(encode_image(".hdr", hdr));
    EXPECT_EQ(d.format, "hdr");
    EXPECT_EQ(d.pixels.type(), CV_32FC3);
    EXPECT_EQ(d.pixels.size(), cv::Size(10, 6));
    EXPECT_NEAR(d.pixels.at<cv::Vec3f>(3, 5)[2], 4.0, 0.1);

    // 64-bit float TIFF: kept as 32-bit float, with a note.
    const cv::Mat f64 = noise(5, 4, CV_64FC1, 0, 1);
    Bytes tiff;
    ASSERT_TRUE(cv::imencode(".tiff", f64, tiff));
    {
        const DecodedImage t = decode(tiff);
        EXPECT_EQ(t.pixels.type(), CV_32FC1);
        ASSERT_EQ(t.warnings.size(), 1u);
        EXPECT_TRUE(contains(t.warnings[0], "64-bit float")) << t.warnings[0];
        cv::Mat expected;
        f64.convertTo(expected, CV_32F);
        EXPECT_TRUE(same_pixels(t.pixels, expected));
    }
}

// ---- CMYK ---------------------------------------------------------------------------------

TEST(ImageDecoder, CmykAndYcckJpegsGiveTheRightColours) {
    // Ink amounts (C, M, Y, K) of six 16x16 patches, and the BGR each must show.
    const std::vector<std::pair<std::array<int, 4>, cv::Vec3b>> patches = {
        {{0, 255, 255, 0}, {0, 0, 255}},     // red
        {{255, 0, 255, 0}, {0, 255, 0}},     // green
        {{255, 255, 0, 0}, {255, 0, 0}},     // blue
        {{0, 0, 0, 0}, {255, 255, 255}},     // paper white
        {{0, 0, 0, 255}, {0, 0, 0}},         // black ink
        {{0, 0, 0, 128}, {127, 127, 127}},   // 50% black
    };
    auto make = [&](bool inverted) {
        cv::Mat stored(16, 16 * int(patches.size()), CV_8UC4);
        for (size_t i = 0; i < patches.size(); ++i) {
            cv::Vec4b v;
            for (int k = 0; k < 4; ++k) v[k] = uint8_t(inverted ? 255 - patches[i].first[k] : patches[i].first[k]);
            stored(cv::Rect(int(i) * 16, 0, 16, 16)).setTo(cv::Scalar(v[0], v[1], v[2], v[3]));
        }
        return stored;
    };
    struct Variant {
        const char *name;
        J_COLOR_SPACE space;
        bool adobe;
    };
    for (const Variant &v : {Variant{"Adobe CMYK", JCS_CMYK, true}, Variant{"Adobe YCCK", JCS_YCCK, true},
                             Variant{"plain CMYK", JCS_CMYK, false}}) {
        SCOPED_TRACE(v.name);
        const Bytes jpeg = write_cmyk_jpeg(make(v.adobe), v.space, v.adobe);
        const DecodedImage d = decode(jpeg);
        ASSERT_EQ(d.pixels.type(), CV_8UC3);
        ASSERT_EQ(d.pixels.size(), cv::Size(16 * int(patches.size()), 16));
        for (size_t i = 0; i < patches.size(); ++i) {
            const cv::Vec3b got = d.pixels.at<cv::Vec3b>(8, int(i) * 16 + 8);
            EXPECT_TRUE(near_colour(got, patches[i].second, 8))
                << "patch " << i << ": got " << str(got) << ", want " << str(patches[i].second);
        }
    }
}

// ---- EXIF orientation ------------------------------------------------------------------------

namespace {

// Where stored pixel (x, y) of a w x h image is displayed, from the EXIF definition of each
// value: where the stored 0th row and 0th column end up.
cv::Point displayed_at(int orientation, int x, int y, int w, int h) {
    switch (orientation) {
    case 1: return {x, y};                 // row 0 top, column 0 left
    case 2: return {w - 1 - x, y};         // row 0 top, column 0 right
    case 3: return {w - 1 - x, h - 1 - y}; // row 0 bottom, column 0 right
    case 4: return {x, h - 1 - y};         // row 0 bottom, column 0 left
    case 5: return {y, x};                 // row 0 left, column 0 top
    case 6: return {h - 1 - y, x};         // row 0 right, column 0 top
    case 7: return {h - 1 - y, w - 1 - x}; // row 0 right, column 0 bottom
    case 8: return {y, w - 1 - x};         // row 0 left, column 0 bottom
    }
    return {-1, -1};
}

const cv::Vec3b kRed(0, 0, 255), kGreen(0, 255, 0);

// 48x32 gray, a red block at the stored top-left corner and a green one at the top-right.
cv::Mat marked_corners() {
    cv::Mat m(32, 48, CV_8UC3, cv::Scalar(128, 128, 128));
    m(cv::Rect(0, 0, 12, 12)).setTo(cv::Scalar(0, 0, 255));
    m(cv::Rect(36, 0, 12, 12)).setTo(cv::Scalar(0, 255, 0));
    return m;
}

void expect_oriented(const cv::Mat &shown, int orientation, int tolerance) {
    const int w = 48, h = 32;
    const cv::Size expected_size = orientation >= 5 ? cv::Size(h, w) : cv::Size(w, h);
    ASSERT_EQ(shown.size(), expected_size) << "orientation " << orientation;
    const cv::Point red = displayed_at(orientation, 5, 5, w, h), green = displayed_at(orientation, 42, 5, w, h);
    EXPECT_TRUE(near_colour(shown.at<cv::Vec3b>(red), kRed, tolerance))
        << "orientation " << orientation << ": red corner at " << red << " is " << str(shown.at<cv::Vec3b>(red));
    EXPECT_TRUE(near_colour(shown.at<cv::Vec3b>(green), kGreen, tolerance))
        << "orientation " << orientation << ": green corner at " << green << " is " << str(shown.at<cv::Vec3b>(green));
}

} // namespace

TEST(ImageDecoder, AllEightExifOrientationsInJpeg) {
    const Bytes jpeg = encode_image(".jpg", marked_corners(), {cv::IMWRITE_JPEG_QUALITY, 95});
    for (int o = 1; o <= 8; ++o) {
        const Bytes tagged = with_exif(jpeg, o, o % 2 == 1);
        const DecodedImage d = decode(tagged);
        expect_oriented(d.pixels, o, 40);
        EXPECT_EQ(d.source_width, o >= 5 ? 32 : 48);
        EXPECT_EQ(d.source_height, o >= 5 ? 48 : 32);
        // Switched off: the pixels stay as stored.
        DecodeOptions off;
        off.exif_orientation = false;
        const DecodedImage raw = decode(tagged, off);
        expect_oriented(raw.pixels, 1, 40);
    }
}

TEST(ImageDecoder, ExifOrientationInPngAndWebp) {
    const cv::Mat image = marked_corners();
    const Bytes tiff = exif_block(false, 6);
    const Bytes png = insert_after_ihdr(encode_image(".png", image), png_chunk("eXIf", tiff));
    expect_oriented(decode(png).pixels, 6, 0);

    // WebP needs the extended (VP8X) layout to carry EXIF.
    const Bytes simple = encode_image(".webp", image, {cv::IMWRITE_WEBP_QUALITY, 101});
    Bytes webp;
    append(webp, "RIFF");
    push_le32(webp, 0); // patched below
    append(webp, "WEBPVP8X");
    push_le32(webp, 10);
    webp.insert(webp.end(), {0x08, 0, 0, 0, 47, 0, 0, 31, 0, 0}); // EXIF flag; 48x32 canvas
    webp.insert(webp.end(), simple.begin() + 12, simple.end());
    if (webp.size() % 2) webp.push_back(0);
    append(webp, "EXIF");
    push_le32(webp, uint32_t(exif_block(true, 3).size()));
    const Bytes block = exif_block(true, 3);
    webp.insert(webp.end(), block.begin(), block.end());
    const uint32_t riff = uint32_t(webp.size() - 8);
    std::memcpy(webp.data() + 4, &riff, 4); // little-endian host
    expect_oriented(decode(webp).pixels, 3, 0);
}

// ---- Unrecognised input ----------------------------------------------------------------------

TEST(ImageDecoder, EmptyFile) {
    EXPECT_EQ(error_of(Bytes{}), "empty file");
    EXPECT_THROW(decode_image(nullptr, 0, DecodeOptions{}), DecodeError);
}

TEST(ImageDecoder, TextNamedJpg) {
    Bytes b;
    append(b, "This is a shopping list, not a photo.\nmilk\neggs\n");
    const std::string e = error_of(b);
    EXPECT_TRUE(contains(e, "not a recognised image format")) << e;
    EXPECT_TRUE(contains(e, "looks like text")) << e;

    Bytes html;
    append(html, "<!DOCTYPE html><html><body>404 Not Found</body></html>");
    EXPECT_TRUE(contains(error_of(html), "HTML")) << error_of(html);
    Bytes pdf;
    append(pdf, "%PDF-1.7\n\x80\x81\x82");
    EXPECT_TRUE(contains(error_of(pdf), "PDF")) << error_of(pdf);
}

TEST(ImageDecoder, RandomBytes) {
    std::mt19937 rng(7);
    Bytes b(4096);
    for (auto &c : b) c = uint8_t(rng());
    b[0] = 0x00; // no signature starts with a zero byte followed by this noise
    const std::string e = error_of(b);
    EXPECT_TRUE(contains(e, "not a recognised image format")) << e;
    EXPECT_FALSE(contains(e, "looks like text")) << e;
}

// ---- Damaged JPEG ------------------------------------------------------------------------------

TEST(ImageDecoder, TruncatedJpegIsAnErrorOrAWarning) {
    const Bytes jpeg = encode_image(".jpg", noise(256, 192, CV_8UC3), {cv::IMWRITE_JPEG_QUALITY, 90});
    const Bytes cut(jpeg.begin(), jpeg.begin() + long(jpeg.size() * 6 / 10));
    EXPECT_EQ(error_of(cut), "truncated JPEG: premature end of data");

    const DecodedImage d = decode(cut, warn_options());
    EXPECT_EQ(d.pixels.size(), cv::Size(256, 192));
    EXPECT_EQ(d.pixels.type(), CV_8UC3);
    ASSERT_FALSE(d.warnings.empty());
    EXPECT_EQ(d.warnings[0], "truncated JPEG: premature end of data");
    // The first rows are intact.
    const cv::Mat good = decode(jpeg).pixels;
    EXPECT_EQ(cv::norm(d.pixels.rowRange(0, 32), good.rowRange(0, 32), cv::NORM_INF), 0);
}

TEST(ImageDecoder, JpegCutBeforeItsImageIsAnErrorEvenWhenWarning) {
    const Bytes jpeg = encode_image(".jpg", noise(64, 64, CV_8UC3));
    // Cut right after the frame header: the size is known, the scan is missing.
    size_t sos = 0;
    for (size_t i = 2; i + 1 < jpeg.size(); ++i)
        if (jpeg[i] == 0xFF && jpeg[i + 1] == 0xDA) {
            sos = i;
            break;
        }
    ASSERT_GT(sos, 0u);
    const Bytes cut(jpeg.begin(), jpeg.begin() + long(sos));
    EXPECT_EQ(error_of(cut), "truncated JPEG: premature end of data");
    EXPECT_EQ(error_of(cut, warn_options()), "truncated JPEG: premature end of data");
    // Cut inside the header, before the size.
    const Bytes tiny(jpeg.begin(), jpeg.begin() + 30);
    const std::string e = error_of(tiny);
    EXPECT_TRUE(contains(e, "truncated")) << e;
    EXPECT_TRUE(contains(e, "JPEG")) << e;
}

TEST(ImageDecoder, CorruptJpegDataIsDamage) {
    Bytes jpeg = encode_image(".jpg", noise(128, 128, CV_8UC3), {cv::IMWRITE_JPEG_QUALITY, 90});
    // A restart marker in the middle of a scan that declared no restart interval.
    const size_t middle = jpeg.size() / 2;
    jpeg[middle] = 0xFF;
    jpeg[middle + 1] = 0xD3;
    const std::string e = error_of(jpeg);
    EXPECT_EQ(e.rfind("damaged JPEG: ", 0), 0u) << e;
    EXPECT_FALSE(contains(e, "truncated")) << e;

    const DecodedImage d = decode(jpeg, warn_options());
    EXPECT_EQ(d.pixels.size(), cv::Size(128, 128));
    ASSERT_EQ(d.warnings.size(), 1u);
    EXPECT_EQ(d.warnings[0], e);
}

// ---- Size limits -------------------------------------------------------------------------------

TEST(ImageDecoder, PngClaimingHugeSizeHitsThePixelLimit) {
    Bytes png = encode_image(".png", noise(8, 8, CV_8UC3));
    put_be32(png, 16, 100000);
    put_be32(png, 20, 100000);
    put_be32(png, 29, png_crc32(png.data() + 12, 17)); // only the size is wrong
    EXPECT_EQ(error_of(png), "image is 100000x100000, over the limit of 268 Mpx");

    // Zero is refused as such.
    put_be32(png, 16, 0);
    put_be32(png, 29, png_crc32(png.data() + 12, 17));
    const std::string zero = error_of(png);
    EXPECT_TRUE(contains(zero, "0x100000")) << zero;
    EXPECT_TRUE(contains(zero, "not a valid image")) << zero;
}

// max_pixels does not see depth and channels: a 16-bit RGBA PNG takes 8 bytes a pixel, and
// max_decoded refuses it from its header, before any allocation.
TEST(ImageDecoder, DecodedBytesLimitCountsDepthAndChannels) {
    const Bytes png16 = encode_image(".png", cv::Mat(100, 200, CV_16UC4, cv::Scalar(1, 2, 3, 4)));
    const Bytes png8 = encode_image(".png", cv::Mat(100, 200, CV_8UC1, cv::Scalar(7)));
    DecodeOptions o;
    o.max_decoded = 200 * 100 * 8;
    EXPECT_EQ(decode(png16, o).pixels.cols, 200);
    o.max_decoded = 200 * 100 * 8 - 1;
    const std::string error = error_of(png16, o);
    EXPECT_TRUE(contains(error, "image is 200x100 and would take")) << error;
    EXPECT_TRUE(contains(error, "over input.max_decoded")) << error;
    o.max_decoded = 200 * 100; // one byte a pixel: the gray PNG fits
    EXPECT_EQ(decode(png8, o).pixels.channels(), 1);
}

TEST(ImageDecoder, PixelLimitIsInclusiveAndZeroMeansNone) {
    const Bytes jpeg = encode_image(".jpg", gradient(64, 48));
    DecodeOptions o;
    o.max_pixels = 64 * 48;
    EXPECT_EQ(decode(jpeg, o).pixels.cols, 64);
    o.max_pixels = 64 * 48 - 1;
    EXPECT_EQ(error_of(jpeg, o), "image is 64x48, over the limit of 0.003 Mpx");
    o.max_pixels = 0;
    EXPECT_EQ(decode(jpeg, o).pixels.rows, 48);

    // A JPEG frame header with height 0.
    Bytes zero = jpeg;
    for (size_t i = 2; i + 8 < zero.size(); ++i)
        if (zero[i] == 0xFF && zero[i + 1] == 0xC0) {
            zero[i + 5] = 0;
            zero[i + 6] = 0;
            break;
        }
    EXPECT_TRUE(contains(error_of(zero), "64x0")) << error_of(zero);
}

TEST(ImageDecoder, FormatMegapixels) {
    EXPECT_EQ(format_megapixels(268435456), "268 Mpx");
    EXPECT_EQ(format_megapixels(12000000), "12 Mpx");
    EXPECT_EQ(format_megapixels(12600000), "13 Mpx");
    EXPECT_EQ(format_megapixels(9990000), "10 Mpx");
    EXPECT_EQ(format_megapixels(2100000), "2.1 Mpx");
    EXPECT_EQ(format_megapixels(1000000), "1 Mpx");
    EXPECT_EQ(format_megapixels(300000), "0.3 Mpx");
    EXPECT_EQ(format_megapixels(50000), "0.05 Mpx");
    EXPECT_EQ(format_megapixels(0), "0 Mpx");
}

// ---- Damaged PNG -------------------------------------------------------------------------------

TEST(ImageDecoder, PngWithBadCrcIsAnError) {
    Bytes png = encode_image(".png", noise(20, 20, CV_8UC3));
    const size_t idat = find_chunk(png, "IDAT");
    const uint32_t len = (uint32_t(png[idat]) << 24) | (png[idat + 1] << 16) | (png[idat + 2] << 8) | png[idat + 3];
    png[idat + 8 + len] ^= 0x55; // the stored CRC
    EXPECT_EQ(error_of(png), "damaged PNG: CRC error in chunk IDAT");
    // Under damaged: warn the pixels are decoded regardless of the checksum.
    const DecodedImage d = decode(png, warn_options());
    EXPECT_EQ(d.pixels.size(), cv::Size(20, 20));
    ASSERT_EQ(d.warnings.size(), 1u);
    EXPECT_EQ(d.warnings[0], "damaged PNG: CRC error in chunk IDAT");
}

TEST(ImageDecoder, PngWithBadAncillaryCrcFailsOrWarns) {
    const cv::Mat image = noise(20, 10, CV_8UC3);
    Bytes text;
    append(text, std::string("Comment\0hello", 13));
    const Bytes png = insert_after_ihdr(encode_image(".png", image), png_chunk("tEXt", text, false));
    ASSERT_FALSE(cv::imdecode(png, cv::IMREAD_UNCHANGED).empty()); // OpenCV alone would accept it
    EXPECT_EQ(error_of(png), "damaged PNG: CRC error in chunk tEXt");
    const DecodedImage d = decode(png, warn_options());
    EXPECT_TRUE(same_pixels(d.pixels, image));
    ASSERT_EQ(d.warnings.size(), 1u);
    EXPECT_EQ(d.warnings[0], "damaged PNG: CRC error in chunk tEXt");
}

TEST(ImageDecoder, TruncatedPng) {
    const Bytes png = encode_image(".png", noise(64, 64, CV_8UC3));
    const size_t idat = find_chunk(png, "IDAT");
    const Bytes mid(png.begin(), png.begin() + long(idat + 100));
    EXPECT_EQ(error_of(mid), "truncated PNG: the file ends inside chunk IDAT");
    EXPECT_EQ(error_of(mid, warn_options()), "truncated PNG: the file ends inside chunk IDAT");

    const Bytes no_end(png.begin(), png.end() - 12);
    const std::string e = error_of(no_end);
    EXPECT_TRUE(contains(e, "truncated PNG")) << e;
    EXPECT_TRUE(contains(e, "IEND")) << e;

    const Bytes header_only(png.begin(), png.begin() + 20);
    const std::string h = error_of(header_only);
    EXPECT_TRUE(contains(h, "truncated")) << h;
    EXPECT_TRUE(contains(h, "PNG")) << h;
}

TEST(ImageDecoder, OtherDamagedFormatsSayWhich) {
    Bytes webp = encode_image(".webp", gradient(40, 40), {cv::IMWRITE_WEBP_QUALITY, 80});
    webp.resize(webp.size() / 2);
    const std::string e = error_of(webp);
    EXPECT_TRUE(contains(e, "WebP")) << e;
}

// ---- Shrink-on-load ------------------------------------------------------------------------------

TEST(ImageDecoder, ShrinkDenominatorRule) {
    EXPECT_EQ(shrink_denominator(800, 0), 1);
    EXPECT_EQ(shrink_denominator(800, 100), 8);  // 800/8 = 100, still enough
    EXPECT_EQ(shrink_denominator(800, 101), 4);  // 800/8 = 100 < 101; 800/4 = 200
    EXPECT_EQ(shrink_denominator(800, 200), 4);
    EXPECT_EQ(shrink_denominator(800, 201), 2);
    EXPECT_EQ(shrink_denominator(800, 400), 2);
    EXPECT_EQ(shrink_denominator(800, 401), 1);
    EXPECT_EQ(shrink_denominator(800, 5000), 1);
    EXPECT_EQ(shrink_denominator(801, 101), 8); // libjpeg rounds up: ceil(801/8) = 101
}

TEST(ImageDecoder, ShrinkOnLoadDecodesJpegSmaller) {
    const cv::Mat image = gradient(800, 600);
    const Bytes jpeg = encode_image(".jpg", image);
    struct Case {
        int hint, denom, w, h;
    };
    for (const Case &c : {Case{0, 1, 800, 600}, Case{100, 8, 100, 75}, Case{101, 4, 200, 150}, Case{300, 2, 400, 300},
                          Case{401, 1, 800, 600}}) {
        const DecodedImage d = decode(jpeg, DecodeOptions{}, c.hint);
        EXPECT_EQ(d.scale_denominator, c.denom) << "hint " << c.hint;
        EXPECT_EQ(d.pixels.size(), cv::Size(c.w, c.h)) << "hint " << c.hint;
        EXPECT_EQ(d.source_width, 800);
        EXPECT_EQ(d.source_height, 600);
    }
    // Only reductions that divide both sides: 1/8 would leave a partial last block.
    const DecodedImage odd = decode(encode_image(".jpg", gradient(801, 601)), DecodeOptions{}, 101);
    EXPECT_EQ(odd.scale_denominator, 1);
    EXPECT_EQ(odd.pixels.size(), cv::Size(801, 601));
    const DecodedImage even = decode(encode_image(".jpg", gradient(804, 600)), DecodeOptions{}, 100);
    EXPECT_EQ(even.scale_denominator, 4); // 804 = 4 x 201: 1/4 divides, 1/8 does not
    EXPECT_EQ(even.pixels.size(), cv::Size(201, 150));
    // The reduced image still looks like the original.
    const DecodedImage small = decode(jpeg, DecodeOptions{}, 100);
    EXPECT_NEAR(small.pixels.at<cv::Vec3b>(37, 50)[0], image.at<cv::Vec3b>(300, 400)[0], 6);

    // Switched off, or not a JPEG: full size.
    DecodeOptions off;
    off.shrink_on_load = false;
    EXPECT_EQ(decode(jpeg, off, 100).scale_denominator, 1);
    EXPECT_EQ(decode(jpeg, off, 100).pixels.cols, 800);
    const DecodedImage png = decode(encode_image(".png", gradient(160, 120)), DecodeOptions{}, 20);
    EXPECT_EQ(png.scale_denominator, 1);
    EXPECT_EQ(png.pixels.cols, 160);
}

TEST(ImageDecoder, ShrinkAndOrientationTogether) {
    const Bytes jpeg = with_exif(encode_image(".jpg", gradient(800, 600)), 6, false);
    const DecodedImage d = decode(jpeg, DecodeOptions{}, 100);
    EXPECT_EQ(d.scale_denominator, 8);
    EXPECT_EQ(d.pixels.size(), cv::Size(75, 100));
    EXPECT_EQ(d.source_width, 600);
    EXPECT_EQ(d.source_height, 800);
}

// ---- Robustness ----------------------------------------------------------------------------------

TEST(ImageDecoder, MutatedFilesOnlyEverThrowDecodeError) {
    // Random byte changes and cuts in good files: each decode either succeeds with a sane
    // image or throws DecodeError; nothing else escapes, nothing crashes.
    const std::vector<Bytes> seeds = {
        encode_image(".jpg", gradient(48, 40)),
        encode_image(".jpg", gradient(48, 40), {cv::IMWRITE_JPEG_PROGRESSIVE, 1}),
        encode_image(".png", noise(24, 20, CV_8UC4)),
        encode_image(".webp", gradient(24, 20), {cv::IMWRITE_WEBP_QUALITY, 70}),
        encode_image(".tiff", noise(24, 20, CV_16UC3, 0, 65536)),
        encode_image(".bmp", noise(24, 20, CV_8UC3)),
    };
    std::mt19937 rng(2024);
    int decoded = 0, refused = 0;
    for (const Bytes &seed : seeds) {
        for (int round = 0; round < 60; ++round) {
            Bytes b = seed;
            const int edits = 1 + int(rng() % 8);
            for (int i = 0; i < edits; ++i) b[rng() % b.size()] = uint8_t(rng());
            if (round % 3 == 0) b.resize(1 + rng() % b.size());
            for (DamagedPolicy policy : {DamagedPolicy::error, DamagedPolicy::warn}) {
                DecodeOptions o;
                o.damaged = policy;
                o.max_pixels = 1 << 20; // a mutated header may claim anything
                try {
                    const DecodedImage d = decode(b, o);
                    EXPECT_FALSE(d.pixels.empty());
                    EXPECT_TRUE(d.pixels.channels() == 1 || d.pixels.channels() == 3 || d.pixels.channels() == 4);
                    ++decoded;
                } catch (const DecodeError &e) {
                    EXPECT_GT(std::strlen(e.what()), 5u);
                    ++refused;
                }
            }
        }
    }
    EXPECT_GT(decoded, 0);
    EXPECT_GT(refused, 0);
}

// ---- Formats through batchproc's own codecs and the codec modules ---------------------------

TEST(ImageDecoder, WebpShrinksOnLoadAndReportsItsFullSize) {
    cv::Mat image(600, 800, CV_8UC3);
    cv::randu(image, 0, 255);
    const Bytes webp = encode_image(".webp", image, {cv::IMWRITE_WEBP_QUALITY, 90});
    const DecodedImage d = decode_image(webp.data(), webp.size(), DecodeOptions{}, 150);
    EXPECT_EQ(d.scale_denominator, 4);
    EXPECT_EQ(d.pixels.size(), cv::Size(200, 150));
    EXPECT_EQ(d.source_width, 800);
    EXPECT_EQ(d.source_height, 600);
    DecodeOptions full;
    full.shrink_on_load = false;
    EXPECT_EQ(decode_image(webp.data(), webp.size(), full, 150).pixels.size(), cv::Size(800, 600));
}

TEST(ImageDecoder, FloatTiffFallsBackToOpenCv) {
    cv::Mat image(16, 24, CV_32FC3);
    cv::randu(image, 0.0, 1.0);
    const Bytes tiff = encode_image(".tiff", image);
    const DecodedImage d = decode_image(tiff.data(), tiff.size(), DecodeOptions{});
    ASSERT_EQ(d.pixels.type(), CV_32FC3);
    EXPECT_EQ(cv::norm(d.pixels, cv::imdecode(tiff, cv::IMREAD_UNCHANGED), cv::NORM_INF), 0);
}

TEST(ImageDecoder, AvifAndHeicDecodeThroughTheHeifModule) {
    cv::Mat image(48, 64, CV_8UC3, cv::Scalar(30, 120, 220));
    for (const char *format : {"avif", "heic"}) {
        SCOPED_TRACE(format);
        batchproc::EncodeOptions o;
        o.lossless = true;
        const Bytes file = batchproc::encode_image(image, format, o).bytes;
        const DecodedImage d = decode_image(file.data(), file.size(), DecodeOptions{});
        EXPECT_EQ(d.format, format == std::string("avif") ? "avif" : "heif");
        EXPECT_EQ(d.pixels.size(), image.size());
        EXPECT_LT(cv::norm(d.pixels, image, cv::NORM_INF), 3);
    }
    Bytes cut = batchproc::encode_image(image, "avif", batchproc::EncodeOptions{}).bytes;
    cut.resize(cut.size() / 2);
    const std::string e = error_of(cut);
    EXPECT_TRUE(contains(e, "AVIF")) << e;
}
