// What an output carries of its input's metadata: nothing by default; EXIF, XMP and IPTC with
// output.metadata: keep (Orientation reset when the pixels were turned upright, the EXIF
// thumbnail dropped, dimension tags updated, GPS dropped with strip_gps); the ICC profile
// under input.colour: keep. Inputs are made here with exiv2, outputs read back with it.
#include "codec/image_decoder.hpp"
#include "support/exiv2_edit.hpp"
#include "support/image_bytes.hpp"
#include "support/run_helpers.hpp"

#include <gtest/gtest.h>
#include <opencv2/core.hpp>

// exiv2 0.27 hands out std::auto_ptr (read_metadata below).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace fs = std::filesystem;
using namespace batchproc::test;

namespace {

std::vector<uint8_t> fake_profile() {
    // Not a real profile: exiv2 only checks the size field when asked; batchproc must carry
    // the bytes as they are under input.colour: keep.
    std::vector<uint8_t> icc(512, 0);
    icc[2] = 0x02; // size 512, big-endian
    for (size_t i = 128; i < icc.size(); ++i) icc[i] = static_cast<uint8_t>(i);
    icc[36] = 'a', icc[37] = 'c', icc[38] = 's', icc[39] = 'p';
    return icc;
}

// A 120x80 JPEG with camera EXIF (Orientation 6, GPS, a thumbnail), XMP, IPTC and an ICC profile.
std::vector<uint8_t> photo_with_metadata() {
    const std::vector<uint8_t> jpeg = encode_image(".jpg", cv::Mat(80, 120, CV_8UC3, cv::Scalar(30, 140, 200)));
    return edit_metadata(jpeg, [](Exiv2::Image &image) {
        Exiv2::ExifData exif;
        exif["Exif.Image.Make"] = "TestCam";
        exif["Exif.Image.Orientation"] = static_cast<uint16_t>(6);
        exif["Exif.Photo.PixelXDimension"] = static_cast<uint32_t>(120);
        exif["Exif.Photo.PixelYDimension"] = static_cast<uint32_t>(80);
        exif["Exif.GPSInfo.GPSLatitudeRef"] = "N";
        exif["Exif.GPSInfo.GPSLatitude"] = "48/1 51/1 0/1";
        const std::vector<uint8_t> thumb = encode_image(".jpg", cv::Mat(8, 12, CV_8UC3, cv::Scalar(1, 2, 3)));
        Exiv2::ExifThumb(exif).setJpegThumbnail(thumb.data(), static_cast<long>(thumb.size()));
        image.setExifData(exif);
        Exiv2::XmpData xmp;
        xmp["Xmp.dc.creator"] = "A. Photographer";
        image.setXmpData(xmp);
        Exiv2::IptcData iptc;
        iptc["Iptc.Application2.Caption"] = "a test caption";
        image.setIptcData(iptc);
        std::vector<uint8_t> icc = fake_profile();
        Exiv2::DataBuf icc_buf(icc.data(), static_cast<long>(icc.size()));
        image.setIccProfile(icc_buf, false);
    });
}

struct Read {
    Exiv2::ExifData exif;
    Exiv2::XmpData xmp;
    Exiv2::IptcData iptc;
    std::vector<uint8_t> icc;
    int width = 0, height = 0;
};

Read read_metadata(const fs::path &file) {
    Exiv2::Image::AutoPtr image = Exiv2::ImageFactory::open(file.string());
    image->readMetadata();
    Read r{image->exifData(), image->xmpData(), image->iptcData(), {}, image->pixelWidth(), image->pixelHeight()};
    if (image->iccProfileDefined())
        r.icc.assign(image->iccProfile()->pData_, image->iccProfile()->pData_ + image->iccProfile()->size_);
    return r;
}

bool has(const Exiv2::ExifData &exif, const char *key) { return exif.findKey(Exiv2::ExifKey(key)) != exif.end(); }

class Metadata : public ::testing::Test {
protected:
    TempDir dir{"bp-meta"};
    void SetUp() override { write_bytes(dir / "in/photo.jpg", photo_with_metadata()); }

    Read run(const std::string &extra_output, const std::string &extra_input = "", const std::string &format = "jpg") {
        const fs::path c = dir / "config.yaml";
        write_text(c, "plugins: [imgproc]\n"
                      "input: {paths: [in]" + extra_input + "}\n"
                      "output: {dir: out" + extra_output + "}\n"
                      "pool: {mode: serial}\njournal: false\n"
                      "pipeline:\n  - resize: {max_side: 60}\n  - save: {format: " + format + "}\n");
        const RunOutcome r = run_batchproc(c, {}, dir.path());
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return read_metadata(dir / ("out/photo." + format));
    }
};

} // namespace

TEST_F(Metadata, ByDefaultAnOutputCarriesNone) {
    Read r = run("");
    EXPECT_TRUE(r.exif.empty());
    EXPECT_TRUE(r.xmp.empty());
    EXPECT_TRUE(r.iptc.empty());
    EXPECT_TRUE(r.icc.empty());
}

TEST_F(Metadata, KeepCopiesExifXmpIptcWithOrientationThumbnailAndSizeFixed) {
    Read r = run(", metadata: keep");
    ASSERT_TRUE(has(r.exif, "Exif.Image.Make"));
    EXPECT_EQ(r.exif["Exif.Image.Make"].toString(), "TestCam");
    EXPECT_EQ(r.exif["Exif.Image.Orientation"].toLong(), 1) << "the pixels were turned upright";
    EXPECT_TRUE(has(r.exif, "Exif.GPSInfo.GPSLatitude"));
    EXPECT_FALSE(has(r.exif, "Exif.Thumbnail.JPEGInterchangeFormat")) << "the EXIF thumbnail shows the original";
    // Orientation 6 turned the 120x80 image to 80x120; resized to a long side of 60: 40x60.
    EXPECT_EQ(r.width, 40);
    EXPECT_EQ(r.height, 60);
    EXPECT_EQ(r.exif["Exif.Photo.PixelXDimension"].toLong(), 40);
    EXPECT_EQ(r.exif["Exif.Photo.PixelYDimension"].toLong(), 60);
    EXPECT_EQ(r.xmp["Xmp.dc.creator"].toString(), "A. Photographer");
    EXPECT_EQ(r.iptc["Iptc.Application2.Caption"].toString(), "a test caption");
    EXPECT_TRUE(r.icc.empty()) << "the pixels were converted to sRGB: the input's profile no longer applies";
}

TEST_F(Metadata, StripGpsDropsThePosition) {
    Read r = run(", metadata: keep, strip_gps: true");
    EXPECT_TRUE(has(r.exif, "Exif.Image.Make"));
    EXPECT_FALSE(has(r.exif, "Exif.GPSInfo.GPSLatitude"));
    EXPECT_FALSE(has(r.exif, "Exif.GPSInfo.GPSLatitudeRef"));
}

TEST_F(Metadata, ColourKeepCarriesTheProfileAndNothingElseByDefault) {
    Read r = run("", ", colour: keep");
    EXPECT_EQ(r.icc, fake_profile());
    EXPECT_TRUE(r.exif.empty()) << "output.metadata defaults to keep_icc under colour: keep";
    Read png = run(", metadata: keep", ", colour: keep", "png");
    EXPECT_EQ(png.icc, fake_profile());
    EXPECT_EQ(png.exif["Exif.Image.Make"].toString(), "TestCam");
}

// WebP, TIFF and AVIF get the profile from batchproc's encoders themselves (exiv2 0.27 does
// not write WebP's ICCP chunk, nor AVIF at all); read back by batchproc's own decoder.
TEST_F(Metadata, ColourKeepCarriesTheProfileIntoWebpTiffAndAvif) {
    batchproc::DecodeOptions keep;
    keep.colour = batchproc::ColourPolicy::keep;
    for (const char *format : {"webp", "tiff", "avif"}) {
        SCOPED_TRACE(format);
        run("", ", colour: keep", format);
        const std::vector<uint8_t> out = read_bytes(dir / ("out/photo." + std::string(format)));
        EXPECT_EQ(batchproc::decode_image(out.data(), out.size(), keep).icc, fake_profile());
    }
    Read webp = run(", metadata: keep", ", colour: keep", "webp");
    EXPECT_EQ(webp.exif["Exif.Image.Make"].toString(), "TestCam");
    const std::vector<uint8_t> out = read_bytes(dir / "out/photo.webp");
    EXPECT_EQ(batchproc::decode_image(out.data(), out.size(), keep).icc, fake_profile())
        << "the exiv2 pass for the EXIF kept the encoder's profile";
}

#pragma GCC diagnostic pop
