// Stages that change the image's geometry: resize, crop, rotate, flip, pad.
#include "stages.hpp"

#include "smartcrop.hpp"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace imgproc {

using batchproc::ParamError;

// ---------------------------------------------------------------- resize

void Resize::validate() {
    std::vector<std::string> given;
    if (width.is_set()) given.emplace_back("width");
    if (height.is_set()) given.emplace_back("height");
    if (max_side.is_set()) given.emplace_back("max_side");
    if (scale.is_set()) given.emplace_back("scale");
    if (given.empty())
        throw ParamError("resize needs a size: give width and/or height, or max_side, or scale");
    const int ways = int(width.is_set() || height.is_set()) + int(max_side.is_set()) + int(scale.is_set());
    if (ways > 1) {
        std::string list;
        for (size_t i = 0; i < given.size(); ++i)
            list += (i == 0 ? "" : i + 1 == given.size() ? " and " : ", ") + given[i];
        throw ParamError("resize takes one way of sizing, but got " + list +
                         "; give width and/or height, or max_side, or scale");
    }

    const bool box = width.is_set() && height.is_set();
    if (fit != "auto") {
        if (!keep_aspect)
            throw ParamError("resize: keep_aspect: false is the older spelling of fit: fill, so it cannot be combined "
                             "with fit: " + fit.value() + "; remove keep_aspect");
        if (!box)
            throw ParamError("resize: fit: " + fit.value() + " needs both width and height (the box to fit), but " +
                             (given.size() == 1 && (width.is_set() || height.is_set()) ? "only " : "") + given[0] +
                             " is given; give width and height, or remove fit");
    }
    fit_ = fit != "auto" ? fit.value() : keep_aspect ? "inside" : "fill";
    const bool places = box && (fit_ == "cover" || fit_ == "contain");
    if (gravity != "center" && !places)
        throw ParamError("resize: gravity places the crop of fit: cover or the image in the padding of fit: contain, "
                         "so it does nothing here (" + (box ? "fit: " + fit_ : "no width and height box") +
                         "); remove gravity, or set fit to cover or contain");
    if (box && fit_ == "contain" && is_content_gravity(gravity))
        throw ParamError("resize: gravity: " + gravity.value() + " chooses the part a crop keeps, but fit: contain "
                         "crops nothing; use center, a side or a corner");
    if (background.is_set()) {
        if (!box || fit_ != "contain")
            throw ParamError("resize: background colours the padding of fit: contain, so it does nothing here; "
                             "remove background, or set fit: contain");
        background_ = parse_colour(background, "background");
    }
}

cv::Size Resize::scaled_size(double w, double h) const {
    double fx = 1, fy = 1;
    if (scale.is_set()) {
        fx = fy = scale;
    } else {
        if (max_side.is_set()) {
            fx = fy = double(max_side) / std::max(w, h);
        } else if (width.is_set() && height.is_set()) {
            fx = double(width) / w;
            fy = double(height) / h;
            if (fit_ == "inside" || fit_ == "contain") fx = fy = std::min(fx, fy);      // fit inside the box
            else if (fit_ == "cover" || fit_ == "outside") fx = fy = std::max(fx, fy); // cover the box
        } else if (width.is_set()) {
            fx = double(width) / w;
            fy = keep_aspect ? fx : 1.0;
        } else {
            fy = double(height) / h;
            fx = keep_aspect ? fy : 1.0;
        }
        if (!upscale) {
            fx = std::min(fx, 1.0);
            fy = std::min(fy, 1.0);
        }
    }
    const double nw = std::max(1.0, std::round(w * fx)), nh = std::max(1.0, std::round(h * fy));
    check_output_size(nw, nh, name);
    return cv::Size(int(nw), int(nh));
}

int Resize::decode_hint(int width_in, int height_in) const {
    if (width_in <= 0 || height_in <= 0) return 0;
    // The resampled size, before cover crops it: the larger scale of cover and outside.
    const cv::Size target = scaled_size(width_in, height_in);
    const int target_long = std::max(target.width, target.height);
    // Keep at least twice the output's size for the exact resize to average over: on 324
    // photos of 0.3 to 27 Mpx the result then stayed above 50 dB PSNR against the full
    // decode (at once the output's size it fell to 36 dB).
    const int needed = 2 * target_long;
    return needed < std::max(width_in, height_in) ? needed : 0;
}

// Resampling colour and alpha separately ("straight" alpha) mixes the colour of fully
// transparent pixels, often black, into their visible neighbours: a dark fringe along
// every soft edge. A 4-channel image with any transparency is resampled premultiplied
// (colour scaled by alpha) and divided back afterwards; an opaque one as it is.
namespace {

// 8-bit BGRA premultiplied into 16 bits: colour c * a and alpha a * 255, both on a 0..65025
// scale (so that faint pixels keep their precision, and no division is needed: the pass
// vectorises), resampled, and divided back: one pass over the input and one over the
// (smaller) output, no float copies of the whole picture.
cv::Mat resize_premultiplied_8bit(const cv::Mat &in, cv::Size target, int flag) {
    cv::Mat pre(in.size(), CV_16UC4);
    for (int y = 0; y < in.rows; ++y) {
        const uint8_t *s = in.ptr<uint8_t>(y);
        uint16_t *d = pre.ptr<uint16_t>(y);
        for (int x = 0; x < 4 * in.cols; x += 4) {
            const uint16_t a = s[x + 3];
            d[x] = static_cast<uint16_t>(s[x] * a);
            d[x + 1] = static_cast<uint16_t>(s[x + 1] * a);
            d[x + 2] = static_cast<uint16_t>(s[x + 2] * a);
            d[x + 3] = static_cast<uint16_t>(a * 255);
        }
    }
    cv::Mat r;
    cv::resize(pre, r, target, 0, 0, flag);
    cv::Mat out(r.size(), CV_8UC4);
    for (int y = 0; y < r.rows; ++y) {
        const uint16_t *s = r.ptr<uint16_t>(y);
        uint8_t *d = out.ptr<uint8_t>(y);
        for (int x = 0; x < r.cols; ++x, s += 4, d += 4) {
            const uint32_t a = s[3]; // alpha * 255
            // Where alpha is 0 the colour is undefined; 0 keeps it black, as straight resizing would.
            for (int c = 0; c < 3; ++c)
                d[c] = a == 0 ? 0 : static_cast<uint8_t>(std::min<uint32_t>(255u, (s[c] * 255u + a / 2) / a));
            d[3] = static_cast<uint8_t>(std::min<uint32_t>(255u, (a + 127u) / 255u)); // cubic may overshoot
        }
    }
    return out;
}

// 16-bit BGRA: the same in float (rare; the precision would not fit an integer pass).
cv::Mat resize_premultiplied_float(const cv::Mat &in, cv::Size target, int flag) {
    const double maxv = 65535.0;
    cv::Mat f;
    in.convertTo(f, CV_32FC4, 1.0 / maxv);
    std::vector<cv::Mat> ch;
    cv::split(f, ch);
    for (int i = 0; i < 3; ++i) ch[size_t(i)] = ch[size_t(i)].mul(ch[3]);
    cv::merge(ch, f);
    cv::Mat r;
    cv::resize(f, r, target, 0, 0, flag);
    cv::split(r, ch);
    cv::Mat a = cv::max(ch[3], 1e-12);
    for (int i = 0; i < 3; ++i) cv::divide(ch[size_t(i)], a, ch[size_t(i)]);
    cv::merge(ch, r);
    cv::Mat out;
    r.convertTo(out, in.type(), maxv); // saturates: cubic overshoot stays in range
    return out;
}

// Whether any pixel of a BGRA image is not opaque; stops at the first one (no copy of the
// alpha channel: an image with transparent corners answers at once).
template <class T>
bool has_transparency(const cv::Mat &in) {
    const T opaque = std::numeric_limits<T>::max();
    for (int y = 0; y < in.rows; ++y) {
        const T *p = in.ptr<T>(y);
        for (int x = 3; x < 4 * in.cols; x += 4)
            if (p[x] != opaque) return true;
    }
    return false;
}

cv::Mat resize_with_alpha(const cv::Mat &in, cv::Size target, int flag) {
    cv::Mat out;
    if (in.channels() == 4 && in.depth() == CV_8U && has_transparency<uint8_t>(in))
        return resize_premultiplied_8bit(in, target, flag);
    if (in.channels() == 4 && in.depth() == CV_16U && has_transparency<uint16_t>(in))
        return resize_premultiplied_float(in, target, flag);
    cv::resize(in, out, target, 0, 0, flag);
    return out;
}
} // namespace

void Resize::process(Job &job) {
    const cv::Mat in = job.image();
    check_image(in, name);
    // The size is computed from the input's full size, so that an image decoded at reduced
    // scale (shrink-on-load) gives exactly the output the full decode would.
    const cv::Size source = job.source_size();
    const cv::Size scaled = scaled_size(source.width, source.height);
    // Already the right size: no resampling (and a reduced decode may be the result).
    cv::Mat out = scaled == in.size() ? in : resize_with_alpha(in, scaled, interpolation_flag(interpolation));

    const bool box = width.is_set() && height.is_set();
    if (box && fit_ == "cover") {
        // At most the box: with upscale false a smaller side stays as it is.
        const cv::Size window(std::min(scaled.width, int(width.value())), std::min(scaled.height, int(height.value())));
        if (window != scaled) out = out(cv::Rect(crop_origin(out, window, gravity), window));
    } else if (box && fit_ == "contain") {
        const cv::Size frame(int(width.value()), int(height.value()));
        if (frame != scaled) {
            check_output_size(frame.width, frame.height, name);
            const cv::Point at = gravity_origin(gravity, frame, scaled);
            cv::Mat padded;
            cv::copyMakeBorder(out, padded, at.y, frame.height - scaled.height - at.y, at.x,
                               frame.width - scaled.width - at.x, cv::BORDER_CONSTANT,
                               colour_scalar(background_, in.depth(), in.channels()));
            out = padded;
        }
    }
    if (out.data == in.data && out.size() == in.size() && source == in.size()) return; // unchanged
    job.set_image(out);
}

// ---------------------------------------------------------------- crop

void Crop::validate() {
    if (!x.is_set() && !y.is_set() && !width.is_set() && !height.is_set())
        throw ParamError("crop needs width and/or height (or x, y to cut from the top-left)");
    if (gravity != "none" && (x.is_set() || y.is_set()))
        throw ParamError("crop: x and y place the crop themselves, so they cannot be combined with gravity \"" +
                         gravity.value() + "\"; remove x and y, or set gravity to none");
}

void Crop::process(Job &job) {
    const cv::Mat in = job.image();
    check_image(in, name);
    const int64_t W = in.cols, H = in.rows;
    int64_t x0 = 0, y0 = 0, cw = 0, ch = 0;
    if (gravity == "none") {
        x0 = x.is_set() ? x.value() : 0;
        y0 = y.is_set() ? y.value() : 0;
        cw = width.is_set() ? width.value() : W - x0;
        ch = height.is_set() ? height.value() : H - y0;
        if (x0 >= W || y0 >= H || x0 + cw > W || y0 + ch > H)
            throw std::runtime_error("crop: the rectangle x=" + std::to_string(x0) + ", y=" + std::to_string(y0) +
                                     (width.is_set() ? ", width=" + std::to_string(cw) : "") +
                                     (height.is_set() ? ", height=" + std::to_string(ch) : "") +
                                     " does not fit in the " + std::to_string(W) + "x" + std::to_string(H) +
                                     " image");
    } else {
        // A side longer than the image's is the image's whole side, as ImageMagick's
        // -gravity -crop does: a 400x400 centre crop of a 300x500 portrait is 300x400.
        cw = std::min<int64_t>(width.is_set() ? width.value() : W, W);
        ch = std::min<int64_t>(height.is_set() ? height.value() : H, H);
        const cv::Point at = crop_origin(in, cv::Size(int(cw), int(ch)), gravity);
        x0 = at.x;
        y0 = at.y;
    }
    // A view into the current pixels: the host keeps them alive, so no copy is needed.
    job.set_image(in(cv::Rect(int(x0), int(y0), int(cw), int(ch))));
}

// ---------------------------------------------------------------- rotate

void Rotate::validate() {
    if (!angle.is_set()) throw ParamError("rotate needs the parameter angle (degrees, counter-clockwise)");
    background_ = parse_colour(background, "background");
}

void Rotate::process(Job &job) {
    const cv::Mat in = job.image();
    check_image(in, name);
    double a = std::fmod(angle.value(), 360.0);
    if (a < 0) a += 360.0;

    // Multiples of 90 degrees move pixels without resampling, so they stay exact.
    const double quarters = a / 90.0;
    const long turns = std::lround(quarters);
    if (std::fabs(quarters - double(turns)) < 1e-9) {
        cv::Mat out;
        switch (turns % 4) {
        case 0: return;
        case 1: cv::rotate(in, out, cv::ROTATE_90_COUNTERCLOCKWISE); break;
        case 2: cv::rotate(in, out, cv::ROTATE_180); break;
        default: cv::rotate(in, out, cv::ROTATE_90_CLOCKWISE); break;
        }
        job.set_image(out);
        return;
    }

    const double w = in.cols, h = in.rows;
    const double rad = a * CV_PI / 180.0;
    const double c = std::fabs(std::cos(rad)), s = std::fabs(std::sin(rad));
    double nw = w, nh = h;
    if (expand) {
        // The bounding box of the turned rectangle; the epsilon keeps 1e-15 errors from adding a pixel.
        nw = std::max(1.0, std::ceil(w * c + h * s - 1e-6));
        nh = std::max(1.0, std::ceil(w * s + h * c - 1e-6));
    }
    check_output_size(nw, nh, name);
    const cv::Point2f centre(float((w - 1) / 2), float((h - 1) / 2));
    cv::Mat m = cv::getRotationMatrix2D(centre, a, 1.0); // positive = counter-clockwise on screen
    m.at<double>(0, 2) += (nw - 1) / 2 - (w - 1) / 2;
    m.at<double>(1, 2) += (nh - 1) / 2 - (h - 1) / 2;
    cv::Mat out;
    cv::warpAffine(in, out, m, cv::Size(int(nw), int(nh)), interpolation_flag(interpolation), cv::BORDER_CONSTANT,
                   colour_scalar(background_, in.depth(), in.channels()));
    job.set_image(out);
}

// ---------------------------------------------------------------- flip

void Flip::process(Job &job) {
    const cv::Mat in = job.image();
    check_image(in, name);
    const int code = direction == "horizontal" ? 1 : direction == "vertical" ? 0 : -1;
    cv::Mat out;
    cv::flip(in, out, code);
    job.set_image(out);
}

// ---------------------------------------------------------------- pad

void Pad::validate() {
    if (!all.is_set() && !top.is_set() && !bottom.is_set() && !left.is_set() && !right.is_set())
        throw ParamError("pad needs a border width: give all, or some of top, bottom, left and right");
    color_ = parse_colour(color, "color");
}

void Pad::process(Job &job) {
    const cv::Mat in = job.image();
    check_image(in, name);
    auto side = [this](const IntParam &p) { return int(p.is_set() ? p.value() : all.is_set() ? all.value() : 0); };
    const int t = side(top), b = side(bottom), l = side(left), r = side(right);
    if (t == 0 && b == 0 && l == 0 && r == 0) return;
    check_output_size(double(in.cols) + l + r, double(in.rows) + t + b, name);
    // reflect mirrors without repeating the edge pixel (numpy's "reflect").
    const int border = mode == "constant" ? cv::BORDER_CONSTANT
                       : mode == "reflect" ? cv::BORDER_REFLECT_101
                                           : cv::BORDER_REPLICATE;
    cv::Mat out;
    cv::copyMakeBorder(in, out, t, b, l, r, border, colour_scalar(color_, in.depth(), in.channels()));
    job.set_image(out);
}

} // namespace imgproc
