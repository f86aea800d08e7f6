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

std::string signature_text(cmsColorSpaceSignature sig) {
    const auto v = static_cast<uint32_t>(sig);
    return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

} // namespace

std::string icc_colour_space(const std::vector<uint8_t> &icc) {
    const Profile p = open_profile(icc);
    return p ? signature_text(cmsGetColorSpace(p.get())) : std::string();
}

cv::Mat rgb_profile_to_srgb(const cv::Mat &bgr, const std::vector<uint8_t> &icc) {
    cmsUInt32Number format = 0;
    switch (bgr.type()) {
    case CV_8UC3: format = TYPE_BGR_8; break;
    case CV_8UC4: format = TYPE_BGRA_8; break;
    case CV_16UC3: format = TYPE_BGR_16; break;
    case CV_16UC4: format = TYPE_BGRA_16; break;
    default: throw ColourError("the embedded ICC profile was not applied to these pixels (only 8- and 16-bit colour is)");
    }
    const Profile in = open_profile(icc);
    if (!in) throw ColourError("the embedded ICC profile cannot be read");
    if (cmsGetColorSpace(in.get()) != cmsSigRgbData)
        throw ColourError("the embedded ICC profile is for " + signature_text(cmsGetColorSpace(in.get())) +
                          " data, not RGB");
    const Profile srgb(cmsCreate_sRGBProfile());
    // COPY_ALPHA: the alpha channel passes through the transform unchanged.
    const Transform t(cmsCreateTransform(in.get(), format, srgb.get(), format, INTENT_PERCEPTUAL,
                                         cmsFLAGS_BLACKPOINTCOMPENSATION | cmsFLAGS_COPY_ALPHA));
    if (!t) throw ColourError("the embedded ICC profile cannot be converted to sRGB");
    cv::Mat out(bgr.rows, bgr.cols, bgr.type());
    for (int y = 0; y < bgr.rows; ++y)
        cmsDoTransform(t.get(), bgr.ptr<uint8_t>(y), out.ptr<uint8_t>(y), static_cast<cmsUInt32Number>(bgr.cols));
    return out;
}

} // namespace batchproc
