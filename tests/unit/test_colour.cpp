// Colour management at decode: a JPEG tagged with an ICC profile (Adobe RGB (1998)- and
// Display P3-compatible profiles built with Little CMS) comes out in sRGB, within ΔE2000 < 1
// of the same conversion done by Little CMS directly (what its `transicc -t0 -b` does:
// perceptual intent, black-point compensation); `input.colour: ignore` and untagged images
// keep their values; a broken profile is a warning, not a failure.
#include "codec/colour.hpp"
#include "codec/image_decoder.hpp"
#include "codec/image_encoder.hpp"

#include "support/image_bytes.hpp"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <jpeglib.h>
#include <unistd.h>
#include <lcms2.h>

#include "support/exiv2_edit.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

using namespace batchproc;

namespace {

std::vector<uint8_t> profile_bytes(cmsHPROFILE p) {
    cmsUInt32Number n = 0;
    cmsSaveProfileToMem(p, nullptr, &n);
    std::vector<uint8_t> bytes(n);
    cmsSaveProfileToMem(p, bytes.data(), &n);
    cmsCloseProfile(p);
    return bytes;
}

cmsHPROFILE rgb_profile(const cmsCIExyYTRIPLE &primaries, cmsToneCurve *curve) {
    cmsCIExyY white;
    cmsWhitePointFromTemp(&white, 6504);
    cmsToneCurve *curves[3] = {curve, curve, curve};
    cmsHPROFILE p = cmsCreateRGBProfile(&white, &primaries, curves);
    cmsFreeToneCurve(curve);
    return p;
}

std::vector<uint8_t> adobe_rgb_compatible() {
    return profile_bytes(rgb_profile({{0.64, 0.33, 1}, {0.21, 0.71, 1}, {0.15, 0.06, 1}}, cmsBuildGamma(nullptr, 2.19921875)));
}

std::vector<uint8_t> display_p3_compatible() {
    const cmsFloat64Number srgb_curve[5] = {2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045};
    return profile_bytes(rgb_profile({{0.680, 0.320, 1}, {0.265, 0.690, 1}, {0.150, 0.060, 1}},
                                     cmsBuildParametricToneCurve(nullptr, 4, srgb_curve)));
}

// Patches of known colours (BGR), 32x32 each, in a row.
const std::vector<cv::Vec3b> kPatches = {{40, 160, 220}, {90, 180, 60}, {200, 80, 30}, {128, 128, 128},
                                         {20, 20, 240},  {250, 240, 10}, {5, 10, 15},   {230, 235, 240}};

cv::Mat patches() {
    cv::Mat m(32, 32 * static_cast<int>(kPatches.size()), CV_8UC3);
    for (size_t i = 0; i < kPatches.size(); ++i)
        m(cv::Rect(32 * static_cast<int>(i), 0, 32, 32)).setTo(cv::Scalar(kPatches[i][0], kPatches[i][1], kPatches[i][2]));
    return m;
}

// A JPEG of `pixels` (quality 100, no chroma subsampling) with `icc` embedded (none when
// empty): 3 channels are BGR; 4 are CMYK, written as Adobe applications do (inverted
// values, the Adobe marker) when `adobe`, else plainly.
std::vector<uint8_t> jpeg_with_profile(const cv::Mat &pixels, const std::vector<uint8_t> &icc, bool adobe = false) {
    const bool cmyk = pixels.channels() == 4;
    jpeg_compress_struct c;
    jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    unsigned char *buffer = nullptr;
    unsigned long size = 0;
    jpeg_mem_dest(&c, &buffer, &size);
    c.image_width = static_cast<JDIMENSION>(pixels.cols);
    c.image_height = static_cast<JDIMENSION>(pixels.rows);
    c.input_components = cmyk ? 4 : 3;
    c.in_color_space = cmyk ? JCS_CMYK : JCS_EXT_BGR;
    jpeg_set_defaults(&c);
    if (cmyk) {
        jpeg_set_colorspace(&c, JCS_CMYK);
        c.write_Adobe_marker = adobe ? TRUE : FALSE;
    }
    jpeg_set_quality(&c, 100, TRUE);
    for (int i = 0; i < c.num_components; ++i) c.comp_info[i].h_samp_factor = c.comp_info[i].v_samp_factor = 1;
    jpeg_start_compress(&c, TRUE);
    if (!icc.empty()) jpeg_write_icc_profile(&c, icc.data(), static_cast<unsigned int>(icc.size()));
    for (int y = 0; y < pixels.rows; ++y) {
        JSAMPROW row = const_cast<JSAMPROW>(pixels.ptr<uint8_t>(y));
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    std::vector<uint8_t> out(buffer, buffer + size);
    std::free(buffer);
    return out;
}

// ΔE2000 between two sRGB BGR colours.
double delta_e(const cv::Vec3b &a, const cv::Vec3b &b) {
    static cmsHPROFILE srgb = cmsCreate_sRGBProfile();
    static cmsHPROFILE lab = cmsCreateLab4Profile(nullptr);
    static cmsHTRANSFORM to_lab = cmsCreateTransform(srgb, TYPE_BGR_8, lab, TYPE_Lab_DBL, INTENT_RELATIVE_COLORIMETRIC, 0);
    cmsCIELab la, lb;
    cmsDoTransform(to_lab, a.val, &la, 1);
    cmsDoTransform(to_lab, b.val, &lb, 1);
    return cmsCIE2000DeltaE(&la, &lb, 1, 1, 1);
}

// The patch colours converted from `icc` to sRGB by Little CMS itself.
std::vector<cv::Vec3b> reference_conversion(const std::vector<uint8_t> &icc) {
    cmsHPROFILE in = cmsOpenProfileFromMem(icc.data(), static_cast<cmsUInt32Number>(icc.size()));
    cmsHPROFILE out = cmsCreate_sRGBProfile();
    cmsHTRANSFORM t = cmsCreateTransform(in, TYPE_BGR_8, out, TYPE_BGR_8, INTENT_PERCEPTUAL, cmsFLAGS_BLACKPOINTCOMPENSATION);
    std::vector<cv::Vec3b> result(kPatches.size());
    cmsDoTransform(t, kPatches.data(), result.data(), static_cast<cmsUInt32Number>(kPatches.size()));
    cmsDeleteTransform(t);
    cmsCloseProfile(in);
    cmsCloseProfile(out);
    return result;
}

// `encoded` (PNG, WebP...) with `icc` embedded by exiv2 (PNG iCCP, WebP ICCP).
std::vector<uint8_t> with_profile(const std::vector<uint8_t> &encoded, const std::vector<uint8_t> &icc) {
    return batchproc::test::edit_metadata(encoded, [&](Exiv2::Image &image) {
        Exiv2::DataBuf buf(icc.data(), static_cast<long>(icc.size()));
        image.setIccProfile(buf, true);
    });
}

std::vector<uint8_t> lossless_with_profile(const cv::Mat &image, const std::string &format,
                                           const std::vector<uint8_t> &icc) {
    batchproc::EncodeOptions o;
    o.lossless = true;
    return batchproc::encode_image(image, format, o, icc).bytes;
}

cv::Vec3b patch_centre(const cv::Mat &m, size_t i) { return m.at<cv::Vec3b>(16, 32 * static_cast<int>(i) + 16); }

DecodedImage decode(const std::vector<uint8_t> &jpeg, ColourPolicy colour = ColourPolicy::srgb) {
    DecodeOptions options;
    options.colour = colour;
    return decode_image(jpeg.data(), jpeg.size(), options);
}

} // namespace

TEST(Colour, TaggedJpegsAreConvertedToSrgbLikeLittleCmsDoesIt) {
    for (const auto &[name, icc] : {std::make_pair("Adobe RGB (1998)-compatible", adobe_rgb_compatible()),
                                    std::make_pair("Display P3-compatible", display_p3_compatible())}) {
        SCOPED_TRACE(name);
        ASSERT_EQ(icc_colour_space(icc), "RGB ");
        const DecodedImage d = decode(jpeg_with_profile(patches(), icc));
        EXPECT_TRUE(d.converted_from_profile);
        EXPECT_TRUE(d.warnings.empty());
        const std::vector<cv::Vec3b> expected = reference_conversion(icc);
        double largest_shift = 0;
        for (size_t i = 0; i < kPatches.size(); ++i) {
            EXPECT_LT(delta_e(patch_centre(d.pixels, i), expected[i]), 1.0) << "patch " << i;
            largest_shift = std::max(largest_shift, delta_e(expected[i], kPatches[i]));
        }
        // The conversion is not a no-op: a wide-gamut profile moves saturated colours.
        EXPECT_GT(largest_shift, 3.0);
    }
}

// PNG (iCCP), lossless so the comparison is exact up to Little CMS; a PNG with alpha keeps
// its alpha.
TEST(Colour, PngProfilesAreConvertedTooAndAlphaIsKept) {
    const std::vector<uint8_t> icc = adobe_rgb_compatible();
    const std::vector<cv::Vec3b> expected = reference_conversion(icc);
    cv::Mat bgra;
    cv::cvtColor(patches(), bgra, cv::COLOR_BGR2BGRA);
    bgra.col(0).setTo(cv::Scalar(0, 0, 0, 100)); // a half-transparent first column
    const std::vector<std::pair<const char *, std::vector<uint8_t>>> files = {
        {"png", with_profile(batchproc::test::encode_image(".png", patches()), icc)},
        {"png with alpha", with_profile(batchproc::test::encode_image(".png", bgra), icc)},
        // The same profile embedded by batchproc's own encoders (WebP ICCP chunk, TIFF tag,
        // AVIF colr box), lossless so that only Little CMS is compared.
        {"webp", lossless_with_profile(patches(), "webp", icc)},
        {"webp with alpha", lossless_with_profile(bgra, "webp", icc)},
        {"tiff", lossless_with_profile(patches(), "tiff", icc)},
        {"tiff with alpha", lossless_with_profile(bgra, "tiff", icc)},
        {"avif", lossless_with_profile(patches(), "avif", icc)},
    };
    for (const auto &[name, file] : files) {
        SCOPED_TRACE(name);
        const DecodedImage d = decode(file);
        ASSERT_TRUE(d.converted_from_profile) << "the profile was not found";
        cv::Mat bgr = d.pixels;
        if (d.pixels.channels() == 4) {
            EXPECT_EQ(d.pixels.at<cv::Vec4b>(5, 0)[3], 100) << "alpha passes through unchanged";
            cv::cvtColor(d.pixels, bgr, cv::COLOR_BGRA2BGR);
        }
        for (size_t i = 0; i < kPatches.size(); ++i)
            EXPECT_LT(delta_e(patch_centre(bgr, i), expected[i]), 0.5) << "patch " << i;
    }
    // colour: keep hands the profile on for the output, pixels untouched.
    DecodeOptions keep;
    keep.colour = ColourPolicy::keep;
    const std::vector<uint8_t> png = with_profile(batchproc::test::encode_image(".png", patches()), icc);
    const DecodedImage kept = decode_image(png.data(), png.size(), keep);
    EXPECT_EQ(kept.icc, icc);
    EXPECT_FALSE(kept.converted_from_profile);
    EXPECT_EQ(patch_centre(kept.pixels, 0), kPatches[0]);
}

TEST(Colour, UntaggedAndIgnoredImagesKeepTheirValues) {
    const std::vector<uint8_t> icc = adobe_rgb_compatible();
    const DecodedImage ignored = decode(jpeg_with_profile(patches(), icc), ColourPolicy::ignore);
    const DecodedImage untagged = decode(jpeg_with_profile(patches(), {}));
    EXPECT_FALSE(ignored.converted_from_profile);
    EXPECT_FALSE(untagged.converted_from_profile);
    for (size_t i = 0; i < kPatches.size(); ++i) {
        EXPECT_LT(delta_e(patch_centre(ignored.pixels, i), kPatches[i]), 1.0) << "patch " << i;
        EXPECT_LT(delta_e(patch_centre(untagged.pixels, i), kPatches[i]), 1.0) << "patch " << i;
    }
}

TEST(Colour, AnUnreadableProfileIsAWarningAndThePixelsAreTakenAsSrgb) {
    std::vector<uint8_t> junk(600);
    for (size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<uint8_t>(i * 37);
    const DecodedImage d = decode(jpeg_with_profile(patches(), junk));
    EXPECT_FALSE(d.converted_from_profile);
    ASSERT_EQ(d.warnings.size(), 1u);
    EXPECT_NE(d.warnings[0].find("ICC profile"), std::string::npos) << d.warnings[0];
    for (size_t i = 0; i < kPatches.size(); ++i) EXPECT_LT(delta_e(patch_centre(d.pixels, i), kPatches[i]), 1.0);
}

TEST(Colour, AProfileForAnotherColourSpaceIsRefusedWithItsName) {
    cmsToneCurve *curve = cmsBuildGamma(nullptr, 2.2);
    const std::vector<uint8_t> gray = profile_bytes(cmsCreateGrayProfile(cmsD50_xyY(), curve));
    cmsFreeToneCurve(curve); // the profile keeps a copy
    EXPECT_EQ(icc_colour_space(gray), "GRAY");
    try {
        rgb_profile_to_srgb(patches(), gray);
        FAIL() << "expected ColourError";
    } catch (const ColourError &e) {
        EXPECT_NE(std::string(e.what()).find("GRAY"), std::string::npos) << e.what();
    }
}

// ---- CMYK and gray profiles, and Little CMS's own transicc as the referee ------------------

namespace {

// A CMYK output profile built with Little CMS (no CMYK profile ships with Debian's free
// profiles): CMYK -> Lab through the plain "remaining light" formula in sRGB, as a 9-point
// CLUT. Enough to tell a conversion through the profile from one without it.
int cmyk_sampler(const cmsUInt16Number in[], cmsUInt16Number out[], void *transform) {
    double rgb[3];
    const double k = 1.0 - in[3] / 65535.0;
    for (int i = 0; i < 3; ++i) rgb[i] = (1.0 - in[i] / 65535.0) * k;
    // A visible twist, so that the profile's result differs from the plain formula's.
    rgb[1] = rgb[1] * 0.85 + 0.15 * rgb[0]; // paper stays white, as in real profiles
    cmsCIELab lab;
    cmsDoTransform(transform, rgb, &lab, 1);
    cmsFloat2LabEncoded(out, &lab);
    return 1;
}

std::vector<uint8_t> cmyk_profile() {
    cmsHPROFILE srgb = cmsCreate_sRGBProfile();
    cmsHPROFILE lab = cmsCreateLab4Profile(nullptr);
    cmsHTRANSFORM to_lab = cmsCreateTransform(srgb, TYPE_RGB_DBL, lab, TYPE_Lab_DBL, INTENT_RELATIVE_COLORIMETRIC, 0);
    cmsHPROFILE p = cmsCreateProfilePlaceholder(nullptr);
    cmsSetProfileVersion(p, 4.3);
    cmsSetDeviceClass(p, cmsSigOutputClass);
    cmsSetColorSpace(p, cmsSigCmykData);
    cmsSetPCS(p, cmsSigLabData);
    cmsWriteTag(p, cmsSigMediaWhitePointTag, cmsD50_XYZ());
    cmsPipeline *a2b = cmsPipelineAlloc(nullptr, 4, 3);
    cmsStage *clut = cmsStageAllocCLut16bit(nullptr, 9, 4, 3, nullptr);
    cmsStageSampleCLut16bit(clut, cmyk_sampler, to_lab, 0);
    // lutAtoBType wants curves on both sides of the CLUT: identity ones.
    cmsPipelineInsertStage(a2b, cmsAT_END, cmsStageAllocToneCurves(nullptr, 4, nullptr));
    cmsPipelineInsertStage(a2b, cmsAT_END, clut);
    cmsPipelineInsertStage(a2b, cmsAT_END, cmsStageAllocToneCurves(nullptr, 3, nullptr));
    cmsWriteTag(p, cmsSigAToB0Tag, a2b);
    cmsPipelineFree(a2b);
    cmsDeleteTransform(to_lab);
    cmsCloseProfile(lab);
    cmsCloseProfile(srgb);
    return profile_bytes(p);
}

const std::vector<cv::Vec4b> kInks = {{0, 0, 0, 0},     {255, 0, 0, 0},   {0, 200, 180, 0}, {40, 40, 40, 120},
                                      {0, 0, 0, 255},  {120, 10, 200, 30}, {10, 90, 0, 60}, {200, 180, 30, 10}};

// A CMYK JPEG of 32x32 patches of kInks (ink amounts), as Adobe applications write it
// (inverted, with the Adobe marker) or plainly.
std::vector<uint8_t> cmyk_jpeg(bool adobe, const std::vector<uint8_t> &icc) {
    cv::Mat m(32, 32 * static_cast<int>(kInks.size()), CV_8UC4);
    for (size_t i = 0; i < kInks.size(); ++i) {
        cv::Vec4b v = kInks[i];
        if (adobe)
            for (int c = 0; c < 4; ++c) v[c] = static_cast<uchar>(255 - v[c]);
        m(cv::Rect(32 * static_cast<int>(i), 0, 32, 32)).setTo(cv::Scalar(v[0], v[1], v[2], v[3]));
    }
    return jpeg_with_profile(m, icc, adobe);
}

// Little CMS's command-line calculator, transicc (liblcms2-utils), converting `values`
// (one colour per line: RGB 0..255, CMYK in percent) from the profile file `in` to sRGB with
// perceptual intent and black-point compensation; nullopt when transicc is missing.
std::optional<std::vector<cv::Vec3b>> transicc_to_srgb(const std::string &in,
                                                       const std::vector<std::vector<double>> &values) {
    if (std::system("command -v transicc >/dev/null 2>&1") != 0) return std::nullopt;
    // Named for this process: the tests of this file run in parallel, each in its own process.
    const std::string input = testing::TempDir() + "transicc-in-" + std::to_string(::getpid()) + ".txt";
    {
        std::FILE *f = std::fopen(input.c_str(), "w");
        for (const auto &v : values) {
            for (size_t i = 0; i < v.size(); ++i) std::fprintf(f, i ? " %.6f" : "%.6f", v[i]);
            std::fprintf(f, "\n");
        }
        std::fclose(f);
    }
    const std::string command = "transicc -t0 -b -n -i '" + in + "' -o '*sRGB' < '" + input + "' 2>/dev/null";
    std::FILE *p = popen(command.c_str(), "r");
    std::vector<cv::Vec3b> out;
    double r = 0, g = 0, b = 0;
    char line[512];
    while (std::fgets(line, sizeof line, p) != nullptr)
        if (std::sscanf(line, "%lf %lf %lf", &r, &g, &b) == 3)
            out.push_back(cv::Vec3b(cv::saturate_cast<uchar>(b), cv::saturate_cast<uchar>(g), cv::saturate_cast<uchar>(r)));
    pclose(p);
    std::remove(input.c_str());
    return out;
}

std::string write_profile(const std::vector<uint8_t> &icc, const char *name) {
    const std::string path = testing::TempDir() + std::to_string(::getpid()) + "-" + name;
    std::FILE *f = std::fopen(path.c_str(), "wb");
    std::fwrite(icc.data(), 1, icc.size(), f);
    std::fclose(f);
    return path;
}

} // namespace

TEST(Colour, CmykJpegsConvertThroughTheirProfileWithinDeltaE1OfTransicc) {
    const std::vector<uint8_t> icc = cmyk_profile();
    std::vector<std::vector<double>> inks; // transicc takes CMYK in percent
    for (const cv::Vec4b &v : kInks) inks.push_back({v[0] / 2.55, v[1] / 2.55, v[2] / 2.55, v[3] / 2.55});
    const auto expected = transicc_to_srgb(write_profile(icc, "cmyk.icc"), inks);
    if (!expected) GTEST_SKIP() << "transicc (liblcms2-utils) is not installed";
    ASSERT_EQ(expected->size(), kInks.size());
    for (const bool adobe : {true, false}) {
        SCOPED_TRACE(adobe ? "Adobe (inverted) CMYK" : "plain CMYK");
        const std::vector<uint8_t> jpg = cmyk_jpeg(adobe, icc);
        const DecodedImage d = decode_image(jpg.data(), jpg.size(), DecodeOptions{});
        ASSERT_TRUE(d.converted_from_profile);
        ASSERT_EQ(d.pixels.type(), CV_8UC3);
        const DecodedImage plain = decode_image(cmyk_jpeg(adobe, {}).data(), cmyk_jpeg(adobe, {}).size(), DecodeOptions{});
        EXPECT_FALSE(plain.converted_from_profile);
        double largest_difference_from_plain = 0;
        for (size_t i = 0; i < kInks.size(); ++i) {
            EXPECT_LT(delta_e(patch_centre(d.pixels, i), (*expected)[i]), 1.0)
                << "patch " << i << ": " << patch_centre(d.pixels, i) << " vs transicc " << (*expected)[i];
            largest_difference_from_plain =
                std::max(largest_difference_from_plain, delta_e(patch_centre(d.pixels, i), patch_centre(plain.pixels, i)));
        }
        EXPECT_GT(largest_difference_from_plain, 3) << "the profile made no difference";
    }
}

TEST(Colour, RgbConversionsAgreeWithTransiccWithinDeltaE1) {
    const std::string profile = "/usr/share/color/icc/compatibleWithAdobeRGB1998.icc";
    std::FILE *f = std::fopen(profile.c_str(), "rb");
    if (f == nullptr) GTEST_SKIP() << profile << " (icc-profiles-free) is not installed";
    std::vector<uint8_t> icc;
    for (int c = std::fgetc(f); c != EOF; c = std::fgetc(f)) icc.push_back(static_cast<uint8_t>(c));
    std::fclose(f);
    std::vector<std::vector<double>> rgb;
    for (const cv::Vec3b &p : kPatches) rgb.push_back({double(p[2]), double(p[1]), double(p[0])});
    const auto expected = transicc_to_srgb(profile, rgb);
    if (!expected) GTEST_SKIP() << "transicc (liblcms2-utils) is not installed";
    ASSERT_EQ(expected->size(), kPatches.size());
    const std::vector<uint8_t> jpg = jpeg_with_profile(patches(), icc);
    const DecodedImage d = decode_image(jpg.data(), jpg.size(), DecodeOptions{});
    ASSERT_TRUE(d.converted_from_profile);
    for (size_t i = 0; i < kPatches.size(); ++i)
        EXPECT_LT(delta_e(patch_centre(d.pixels, i), (*expected)[i]), 1.0) << "patch " << i;
}

TEST(Colour, GrayImagesConvertThroughAGrayProfile) {
    cmsToneCurve *gamma18 = cmsBuildGamma(nullptr, 1.8);
    const std::vector<uint8_t> icc = profile_bytes(cmsCreateGrayProfile(cmsD50_xyY(), gamma18));
    cmsFreeToneCurve(gamma18);
    cv::Mat gray(8, 64, CV_8UC1);
    for (int x = 0; x < 64; ++x) gray.col(x).setTo(x * 4);
    const std::vector<uint8_t> png = lossless_with_profile(gray, "png", icc);
    const DecodedImage d = decode_image(png.data(), png.size(), DecodeOptions{});
    ASSERT_TRUE(d.converted_from_profile);
    ASSERT_EQ(d.pixels.type(), CV_8UC1);
    // Gamma 1.8 data shown with sRGB's curve is lighter in the mid-tones, and black and
    // white stay put.
    EXPECT_EQ(d.pixels.at<uchar>(0, 0), 0);
    EXPECT_GT(d.pixels.at<uchar>(0, 32), gray.at<uchar>(0, 32) + 5);
    DecodeOptions keep;
    keep.colour = ColourPolicy::keep;
    EXPECT_EQ(decode_image(png.data(), png.size(), keep).icc, icc);
}
