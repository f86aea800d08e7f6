// probe_header / sniff_format / exif_orientation on real encoder output (cv::imencode),
// hand-built headers for what OpenCV cannot write, and every truncation of each.
#include "codec/image_header.hpp"

#include "support/image_bytes.hpp"

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

using batchproc::exif_orientation;
using batchproc::ImageHeader;
using batchproc::probe_header;
using batchproc::sniff_format;
using batchproc::tiff_block_orientation;

using batchproc::test::encode_image;
using batchproc::test::png_crc32;

namespace {

using Bytes = std::vector<uint8_t>;

cv::Mat pattern(int w, int h, int type = CV_8UC3) {
    cv::Mat m(h, w, type);
    cv::randu(m, 0, 255);
    return m;
}

Bytes text(const std::string &s) { return Bytes(s.begin(), s.end()); }

void put_be16(Bytes &b, uint16_t v) { b.push_back(uint8_t(v >> 8)); b.push_back(uint8_t(v)); }
void put_le16(Bytes &b, uint16_t v) { b.push_back(uint8_t(v)); b.push_back(uint8_t(v >> 8)); }
void put_be32(Bytes &b, uint32_t v) { put_be16(b, uint16_t(v >> 16)); put_be16(b, uint16_t(v)); }
void put_le32(Bytes &b, uint32_t v) { put_le16(b, uint16_t(v)); put_le16(b, uint16_t(v >> 16)); }
void put_le64(Bytes &b, uint64_t v) { put_le32(b, uint32_t(v)); put_le32(b, uint32_t(v >> 32)); }
void append(Bytes &b, const std::string &s) { b.insert(b.end(), s.begin(), s.end()); }

// Probes a copy held in a buffer of exactly `size` bytes, so an out-of-bounds read lands
// outside the allocation (and is caught by sanitizers).
std::optional<ImageHeader> probe_exact(const Bytes &b, size_t size) {
    std::unique_ptr<uint8_t[]> copy(new uint8_t[size ? size : 1]);
    if (size) std::memcpy(copy.get(), b.data(), size);
    return probe_header(size ? copy.get() : nullptr, size);
}

void expect_header(const Bytes &b, const std::string &format, int64_t w, int64_t h) {
    const auto header = probe_header(b.data(), b.size());
    ASSERT_TRUE(header.has_value()) << format;
    EXPECT_EQ(header->format, format);
    EXPECT_EQ(header->width, w) << format;
    EXPECT_EQ(header->height, h) << format;
    EXPECT_EQ(sniff_format(b.data(), b.size()), format);
}

// Every prefix: no crash, and either "not yet" or the same answer as the whole file.
void expect_prefixes_safe(const Bytes &b, const std::string &label) {
    const auto full = probe_header(b.data(), b.size());
    ASSERT_TRUE(full.has_value()) << label;
    const size_t limit = std::min<size_t>(b.size(), 3000);
    size_t first_found = SIZE_MAX;
    for (size_t n = 0; n <= limit; ++n) {
        const auto h = probe_exact(b, n);
        if (!h) continue;
        if (first_found == SIZE_MAX) first_found = n;
        EXPECT_EQ(h->format, full->format) << label << " prefix " << n;
        EXPECT_EQ(h->width, full->width) << label << " prefix " << n;
        EXPECT_EQ(h->height, full->height) << label << " prefix " << n;
    }
    EXPECT_NE(first_found, SIZE_MAX) << label << ": the size should be found within " << limit << " bytes";
    EXPECT_GT(first_found, 0u);
}

Bytes exif_tiff_block(bool little, uint16_t orientation) {
    Bytes t;
    append(t, little ? "II" : "MM");
    auto u16 = [&](uint16_t v) { little ? put_le16(t, v) : put_be16(t, v); };
    auto u32 = [&](uint32_t v) { little ? put_le32(t, v) : put_be32(t, v); };
    u16(42);
    u32(8);       // IFD0 right after the header
    u16(2);       // two entries
    u16(0x010f);  // Make (ASCII, stored elsewhere): an entry that must be skipped
    u16(2);
    u32(8);
    u32(38);       // offset of the string, after the IFD
    u16(0x0112);  // Orientation, SHORT, 1 value, inline
    u16(3);
    u32(1);
    u16(orientation);
    u16(0);
    u32(0);       // no next IFD
    append(t, std::string("Camera1\0", 8));
    return t;
}

Bytes jpeg_with_exif(const Bytes &jpeg, const Bytes &tiff) {
    Bytes app1 = {0xFF, 0xE1};
    put_be16(app1, uint16_t(2 + 6 + tiff.size()));
    append(app1, std::string("Exif\0\0", 6));
    app1.insert(app1.end(), tiff.begin(), tiff.end());
    Bytes out;
    out.reserve(jpeg.size() + app1.size());
    out.push_back(jpeg[0]);
    out.push_back(jpeg[1]);
    out.insert(out.end(), app1.begin(), app1.end());
    out.insert(out.end(), jpeg.begin() + 2, jpeg.end());
    return out;
}

} // namespace

TEST(ImageHeader, JpegBaselineProgressiveAndGray) {
    const Bytes baseline = encode_image(".jpg", pattern(37, 23));
    expect_header(baseline, "jpeg", 37, 23);
    const Bytes progressive = encode_image(".jpg", pattern(61, 5), {cv::IMWRITE_JPEG_PROGRESSIVE, 1});
    expect_header(progressive, "jpeg", 61, 5);
    expect_header(encode_image(".jpg", pattern(8, 300, CV_8UC1)), "jpeg", 8, 300);
    expect_prefixes_safe(baseline, "jpeg");
    expect_prefixes_safe(progressive, "progressive jpeg");
}

TEST(ImageHeader, JpegSkipsApplicationSegmentsAndFillBytes) {
    Bytes jpeg = jpeg_with_exif(encode_image(".jpg", pattern(40, 30)), exif_tiff_block(true, 6));
    expect_header(jpeg, "jpeg", 40, 30);
    // Extra 0xFF fill bytes before a marker are legal.
    jpeg.insert(jpeg.begin() + 2, {0xFF, 0xFF});
    expect_header(jpeg, "jpeg", 40, 30);
}

TEST(ImageHeader, JpegWithoutFrameHeaderIsNotProbed) {
    // SOI, a comment, then start of scan: no SOF, so no size.
    Bytes b = {0xFF, 0xD8, 0xFF, 0xFE, 0x00, 0x05, 'a', 'b', 'c', 0xFF, 0xDA, 0x00, 0x02};
    EXPECT_EQ(sniff_format(b.data(), b.size()), "jpeg");
    EXPECT_FALSE(probe_header(b.data(), b.size()).has_value());
    // A segment length of 0 or 1 is malformed.
    Bytes bad = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x01, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x00, 0x10, 0x00, 0x10};
    EXPECT_FALSE(probe_header(bad.data(), bad.size()).has_value());
}

TEST(ImageHeader, Png) {
    const Bytes png = encode_image(".png", pattern(123, 45));
    expect_header(png, "png", 123, 45);
    expect_header(encode_image(".png", pattern(3, 700, CV_16UC4)), "png", 3, 700);
    expect_prefixes_safe(png, "png");
    EXPECT_FALSE(probe_header(png.data(), 23).has_value());
    EXPECT_TRUE(probe_header(png.data(), 24).has_value());
}

TEST(ImageHeader, WebpLossyLosslessAndExtended) {
    const Bytes lossy = encode_image(".webp", pattern(33, 17), {cv::IMWRITE_WEBP_QUALITY, 80});
    ASSERT_GE(lossy.size(), 16u);
    EXPECT_EQ(std::string(lossy.begin() + 12, lossy.begin() + 16), "VP8 ");
    expect_header(lossy, "webp", 33, 17);
    expect_prefixes_safe(lossy, "webp lossy");

    const Bytes lossless = encode_image(".webp", pattern(19, 71), {cv::IMWRITE_WEBP_QUALITY, 101});
    EXPECT_EQ(std::string(lossless.begin() + 12, lossless.begin() + 16), "VP8L");
    expect_header(lossless, "webp", 19, 71);
    expect_prefixes_safe(lossless, "webp lossless");

    // VP8X (extended format) header, built by hand: canvas sizes are stored minus one.
    Bytes x;
    append(x, "RIFF");
    put_le32(x, 4 + 18);
    append(x, "WEBPVP8X");
    put_le32(x, 10);
    x.insert(x.end(), {0x10, 0, 0, 0});              // flags: alpha
    x.insert(x.end(), {0x3f, 0x42, 0x0f});           // width-1 = 999999
    x.insert(x.end(), {0x01, 0x00, 0x00});           // height-1 = 1
    expect_header(x, "webp", 1000000, 2);
    expect_prefixes_safe(x, "webp vp8x");
}

TEST(ImageHeader, TiffBothByteOrdersAndBigTiff) {
    const Bytes tiff = encode_image(".tiff", pattern(29, 31));
    expect_header(tiff, "tiff", 29, 31);

    // Big-endian, width as SHORT and height as LONG, with an unrelated tag first.
    Bytes mm;
    append(mm, "MM");
    put_be16(mm, 42);
    put_be32(mm, 8);
    put_be16(mm, 3);
    for (auto [tag, type, value] : {std::tuple<uint16_t, uint16_t, uint32_t>{254, 4, 0}, {256, 3, 0}, {257, 4, 70000}}) {
        put_be16(mm, tag);
        put_be16(mm, type);
        put_be32(mm, 1);
        if (type == 3) {
            put_be16(mm, 640); // SHORT values are left-aligned in the 4-byte field
            put_be16(mm, 0);
        } else {
            put_be32(mm, value);
        }
    }
    put_be32(mm, 0);
    expect_header(mm, "tiff", 640, 70000);
    expect_prefixes_safe(mm, "tiff mm");

    // BigTIFF: 8-byte offsets and counts, LONG8 values.
    Bytes big;
    append(big, "II");
    put_le16(big, 43);
    put_le16(big, 8);
    put_le16(big, 0);
    put_le64(big, 16);
    put_le64(big, 2);
    for (auto [tag, value] : {std::pair<uint16_t, uint64_t>{256, 5000000000ull}, {257, 7}}) {
        put_le16(big, tag);
        put_le16(big, 16);
        put_le64(big, 1);
        put_le64(big, value);
    }
    put_le64(big, 0);
    expect_header(big, "tiff", 5000000000ll, 7);
    expect_prefixes_safe(big, "bigtiff");

    // An IFD offset pointing past the end.
    Bytes lost = {'I', 'I', 42, 0, 0xff, 0xff, 0xff, 0x7f};
    EXPECT_FALSE(probe_header(lost.data(), lost.size()).has_value());
}

TEST(ImageHeader, BmpBottomUpTopDownAndCore) {
    const Bytes bmp = encode_image(".bmp", pattern(13, 9));
    expect_header(bmp, "bmp", 13, 9);
    expect_prefixes_safe(bmp, "bmp");
    Bytes top_down = bmp;
    const int32_t negative = -9;
    std::memcpy(top_down.data() + 22, &negative, 4); // little-endian host
    expect_header(top_down, "bmp", 13, 9);

    Bytes core;
    append(core, "BM");
    put_le32(core, 26);
    put_le32(core, 0);
    put_le32(core, 26);
    put_le32(core, 12);
    put_le16(core, 300);
    put_le16(core, 200);
    put_le16(core, 1);
    put_le16(core, 24);
    expect_header(core, "bmp", 300, 200);
    // "BM" followed by an implausible DIB header size is not a BMP.
    const Bytes bm_text = text("BMW owners club newsletter, issue 12");
    EXPECT_EQ(sniff_format(bm_text.data(), bm_text.size()), "");
}

TEST(ImageHeader, PnmFamilyAndPfm) {
    expect_header(encode_image(".pgm", pattern(21, 8, CV_8UC1)), "pnm", 21, 8);
    expect_header(encode_image(".ppm", pattern(22, 9)), "pnm", 22, 9);
    expect_header(encode_image(".pbm", pattern(23, 10, CV_8UC1)), "pnm", 23, 10);
    expect_header(encode_image(".pam", pattern(24, 11)), "pnm", 24, 11);
    const Bytes ascii = text("P2\n# made by hand\n  640\t# width\n480\n255\n0 1 2\n");
    expect_header(ascii, "pnm", 640, 480);
    expect_prefixes_safe(ascii, "pgm ascii");
    expect_header(text("P1 3 2 010 101"), "pnm", 3, 2);
    const Bytes pam = text("P7\nDEPTH 3\n# c\nHEIGHT 12\nWIDTH 34\nMAXVAL 255\nTUPLTYPE RGB\nENDHDR\n");
    expect_header(pam, "pnm", 34, 12);
    expect_prefixes_safe(pam, "pam");
    expect_header(text("PF\n7 5\n-1.0\n"), "pfm", 7, 5);
    // Truncated inside the height: not a size.
    const Bytes cut = text("P5 640 48");
    EXPECT_FALSE(probe_header(cut.data(), cut.size()).has_value());
    const Bytes letters = text("P6 wide high 255\n");
    EXPECT_FALSE(probe_header(letters.data(), letters.size()).has_value());
}

TEST(ImageHeader, GifHdrExrJp2Ras) {
    Bytes gif;
    append(gif, "GIF89a");
    put_le16(gif, 320);
    put_le16(gif, 240);
    gif.insert(gif.end(), {0xF7, 0, 0});
    expect_header(gif, "gif", 320, 240);
    expect_prefixes_safe(gif, "gif");

    cv::Mat hdr_image(6, 10, CV_32FC3, cv::Scalar(0.5, 1.5, 2.5));
    const Bytes hdr = encode_image(".hdr", hdr_image);
    expect_header(hdr, "hdr", 10, 6);
    expect_prefixes_safe(hdr, "hdr");

    // OpenEXR: magic, version, then attributes; the size is dataWindow (inclusive bounds).
    Bytes exr = {0x76, 0x2f, 0x31, 0x01, 2, 0, 0, 0};
    auto attribute = [&](const std::string &name, const std::string &type, const Bytes &value) {
        append(exr, name);
        exr.push_back(0);
        append(exr, type);
        exr.push_back(0);
        put_le32(exr, uint32_t(value.size()));
        exr.insert(exr.end(), value.begin(), value.end());
    };
    attribute("compression", "compression", {0});
    Bytes box;
    for (int32_t v : {-2, 3, 97, 52}) put_le32(box, uint32_t(v));
    attribute("dataWindow", "box2i", box);
    exr.push_back(0);
    expect_header(exr, "exr", 100, 50);
    expect_prefixes_safe(exr, "exr");

    const Bytes jp2 = encode_image(".jp2", pattern(130, 70)); // big enough for the default 6 resolutions
    expect_header(jp2, "jp2", 130, 70);
    expect_prefixes_safe(jp2, "jp2");
    Bytes j2k = {0xFF, 0x4F, 0xFF, 0x51, 0x00, 0x29, 0x00, 0x00};
    for (uint32_t v : {110u, 60u, 10u, 20u}) put_be32(j2k, v); // grid 110x60, image offset (10, 20)
    expect_header(j2k, "jp2", 100, 40);

    const Bytes ras = encode_image(".ras", pattern(17, 3));
    expect_header(ras, "ras", 17, 3);
    expect_prefixes_safe(ras, "ras");
}

TEST(ImageHeader, UnrecognisedData) {
    EXPECT_FALSE(probe_header(nullptr, 0).has_value());
    EXPECT_EQ(sniff_format(nullptr, 0), "");
    const Bytes hello = text("hello, this is not an image\n");
    EXPECT_FALSE(probe_header(hello.data(), hello.size()).has_value());
    std::mt19937 rng(1234);
    for (int round = 0; round < 200; ++round) {
        Bytes noise(1 + rng() % 200);
        for (auto &c : noise) c = uint8_t(rng());
        if (!sniff_format(noise.data(), noise.size()).empty()) continue; // a lucky signature
        EXPECT_FALSE(probe_exact(noise, noise.size()).has_value());
    }
}

TEST(ImageHeader, GarbageAfterEverySignatureNeverCrashes) {
    // Each signature followed by random bytes, at every length: exercises the walkers on
    // hostile lengths and offsets. The answer does not matter; not crashing does.
    const std::vector<Bytes> signatures = {
        {0xFF, 0xD8, 0xFF}, {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, {'I', 'I', 42, 0}, {'M', 'M', 0, 42},
        {'I', 'I', 43, 0, 8, 0, 0, 0}, {'B', 'M'}, {'P', '6', ' '}, {'P', '7', '\n'}, {'#', '?', 'R', 'G', 'B', 'E'},
        {0x76, 0x2f, 0x31, 0x01}, {0, 0, 0, 0x0c, 'j', 'P', ' ', ' ', '\r', '\n', 0x87, '\n'}, {'G', 'I', 'F', '8', '9', 'a'},
    };
    std::mt19937 rng(99);
    for (const Bytes &sig : signatures) {
        for (int round = 0; round < 30; ++round) {
            Bytes b = sig;
            const size_t extra = rng() % 120;
            for (size_t i = 0; i < extra; ++i) b.push_back(uint8_t(rng() % 4 == 0 ? 0xFF : rng()));
            for (size_t n = 0; n <= b.size(); ++n) {
                (void)probe_exact(b, n);
                std::unique_ptr<uint8_t[]> copy(new uint8_t[n ? n : 1]);
                if (n) std::memcpy(copy.get(), b.data(), n);
                (void)exif_orientation(copy.get(), n);
                (void)tiff_block_orientation(copy.get(), n);
            }
        }
    }
    SUCCEED();
}

TEST(ImageHeader, ExifOrientationInJpegBothByteOrders) {
    const Bytes plain = encode_image(".jpg", pattern(16, 16));
    EXPECT_EQ(exif_orientation(plain.data(), plain.size()), 1);
    for (int o = 1; o <= 8; ++o) {
        for (bool little : {true, false}) {
            const Bytes jpeg = jpeg_with_exif(plain, exif_tiff_block(little, uint16_t(o)));
            EXPECT_EQ(exif_orientation(jpeg.data(), jpeg.size()), o) << "orientation " << o << (little ? " II" : " MM");
        }
    }
    // Out of range values mean "as stored".
    const Bytes nine = jpeg_with_exif(plain, exif_tiff_block(true, 9));
    EXPECT_EQ(exif_orientation(nine.data(), nine.size()), 1);
    // Every truncation of the EXIF block: never a crash, and never a wrong value.
    const Bytes block = exif_tiff_block(false, 6);
    for (size_t n = 0; n <= block.size(); ++n) {
        std::unique_ptr<uint8_t[]> copy(new uint8_t[n ? n : 1]);
        if (n) std::memcpy(copy.get(), block.data(), n);
        const int o = tiff_block_orientation(copy.get(), n);
        EXPECT_TRUE(o == 1 || o == 6) << n;
        if (n == block.size()) {
            EXPECT_EQ(o, 6);
        }
    }
}

TEST(ImageHeader, ExifOrientationInPngAndWebp) {
    const Bytes tiff = exif_tiff_block(true, 8);
    // PNG: insert an eXIf chunk right after IHDR (CRC is not checked by the probe).
    Bytes png = encode_image(".png", pattern(5, 5));
    Bytes chunk;
    put_be32(chunk, uint32_t(tiff.size()));
    append(chunk, "eXIf");
    chunk.insert(chunk.end(), tiff.begin(), tiff.end());
    put_be32(chunk, 0);
    png.insert(png.begin() + 33, chunk.begin(), chunk.end());
    EXPECT_EQ(exif_orientation(png.data(), png.size()), 8);

    // WebP: an EXIF chunk after the image chunk (odd sizes are padded).
    Bytes webp = encode_image(".webp", pattern(5, 5), {cv::IMWRITE_WEBP_QUALITY, 101});
    Bytes exif_chunk;
    append(exif_chunk, "EXIF");
    const Bytes payload = [&] {
        Bytes p;
        append(p, std::string("Exif\0\0", 6)); // the prefix some writers keep
        p.insert(p.end(), tiff.begin(), tiff.end());
        return p;
    }();
    put_le32(exif_chunk, uint32_t(payload.size()));
    exif_chunk.insert(exif_chunk.end(), payload.begin(), payload.end());
    if (webp.size() % 2) webp.push_back(0);
    webp.insert(webp.end(), exif_chunk.begin(), exif_chunk.end());
    EXPECT_EQ(exif_orientation(webp.data(), webp.size()), 8);
}
