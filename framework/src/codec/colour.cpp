#include "codec/colour.hpp"

#include <lcms2.h>

#include <memory>

namespace batchproc {

namespace {

struct ProfileCloser {
    void operator()(void *p) const { cmsCloseProfile(p); }
};
struct TransformDeleter {
    void operator()(void *t) const { cmsDeleteTransform(t); }
};
using Profile = std::unique_ptr<void, ProfileCloser>;
using Transform = std::unique_ptr<void, TransformDeleter>;

Profile open_profile(const std::vector<uint8_t> &icc) {
    return Profile(icc.empty() ? nullptr : cmsOpenProfileFromMem(icc.data(), static_cast<cmsUInt32Number>(icc.size())));
}

// The colour space a profile declares, as a number: the file may name one that lcms2's
// enum does not list, and an enum variable holding such a value is undefined behaviour.
uint32_t colour_space_of(cmsHPROFILE profile) { return static_cast<uint32_t>(cmsGetColorSpace(profile)); }

std::string signature_text(uint32_t v) {
    return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

} // namespace

std::string icc_colour_space(const std::vector<uint8_t> &icc) {
    const Profile p = open_profile(icc);
    return p ? signature_text(colour_space_of(p.get())) : std::string();
}

namespace {

// The gray counterpart of sRGB: D65 white, sRGB's tone curve.
Profile srgb_gray_profile() {
    const cmsFloat64Number params[5] = {2.4, 1.0 / 1.055, 0.055 / 1.055, 1.0 / 12.92, 0.04045};
    cmsToneCurve *curve = cmsBuildParametricToneCurve(nullptr, 4, params);
    Profile p(cmsCreateGrayProfile(cmsD50_xyY(), curve));
    cmsFreeToneCurve(curve);
    return p;
}

// Converts `pixels` (in_format) described by the profile `icc`, which must be of colour
// space `space`, into `out_type` pixels (out_format) of the profile `to`, row by row.
cv::Mat transform(const cv::Mat &pixels, const std::vector<uint8_t> &icc, cmsColorSpaceSignature space,
                  cmsUInt32Number in_format, const Profile &to, cmsUInt32Number out_format, int out_type,
                  cmsUInt32Number extra_flags = 0) {
    const Profile in = open_profile(icc);
    if (!in) throw ColourError("the embedded ICC profile cannot be read");
    if (const uint32_t found = colour_space_of(in.get()); found != static_cast<uint32_t>(space))
        throw ColourError("the embedded ICC profile is for " + signature_text(found) + " data, not " +
                          signature_text(static_cast<uint32_t>(space)));
    const Transform t(cmsCreateTransform(in.get(), in_format, to.get(), out_format, INTENT_PERCEPTUAL,
                                         cmsFLAGS_BLACKPOINTCOMPENSATION | extra_flags));
    if (!t) throw ColourError("the embedded ICC profile cannot be converted to sRGB");
    cv::Mat out(pixels.rows, pixels.cols, out_type);
    for (int y = 0; y < pixels.rows; ++y)
        cmsDoTransform(t.get(), pixels.ptr<uint8_t>(y), out.ptr<uint8_t>(y), static_cast<cmsUInt32Number>(pixels.cols));
    return out;
}

} // namespace

cv::Mat rgb_profile_to_srgb(const cv::Mat &bgr, const std::vector<uint8_t> &icc) {
    cmsUInt32Number format = 0;
    switch (bgr.type()) {
    case CV_8UC3: format = TYPE_BGR_8; break;
    case CV_8UC4: format = TYPE_BGRA_8; break;
    case CV_16UC3: format = TYPE_BGR_16; break;
    case CV_16UC4: format = TYPE_BGRA_16; break;
    default: throw ColourError("the embedded ICC profile was not applied to these pixels (only 8- and 16-bit colour is)");
    }
    // COPY_ALPHA: the alpha channel passes through the transform unchanged.
    return transform(bgr, icc, cmsSigRgbData, format, Profile(cmsCreate_sRGBProfile()), format, bgr.type(),
                     cmsFLAGS_COPY_ALPHA);
}

cv::Mat cmyk_profile_to_srgb(const cv::Mat &cmyk, bool inverted, const std::vector<uint8_t> &icc) {
    if (cmyk.type() != CV_8UC4) throw ColourError("the embedded CMYK profile applies to 8-bit CMYK pixels only");
    return transform(cmyk, icc, cmsSigCmykData, inverted ? TYPE_CMYK_8_REV : TYPE_CMYK_8,
                     Profile(cmsCreate_sRGBProfile()), TYPE_BGR_8, CV_8UC3);
}

cv::Mat gray_profile_to_srgb(const cv::Mat &gray, const std::vector<uint8_t> &icc) {
    cmsUInt32Number format = 0;
    switch (gray.type()) {
    case CV_8UC1: format = TYPE_GRAY_8; break;
    case CV_16UC1: format = TYPE_GRAY_16; break;
    default: throw ColourError("the embedded gray profile was not applied to these pixels (only 8- and 16-bit gray is)");
    }
    return transform(gray, icc, cmsSigGrayData, format, srgb_gray_profile(), format, gray.type());
}

} // namespace batchproc
