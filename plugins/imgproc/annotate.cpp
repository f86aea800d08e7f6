// Drawing on the image: watermark (a line of text drawn with FreeType, or a logo image),
// sized relative to the image and always inside it.
#include "stages.hpp"

#include "font.hpp"
#include "utf8.hpp"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <tuple>
#include <vector>

namespace imgproc {

using batchproc::ParamError;

namespace {

// fonts-dejavu-core's DejaVu Sans: the text's font unless the config names one.
constexpr const char *kDefaultFont = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
// The old Hershey font at scale 1 had capitals about 22 pixels tall; DejaVu Sans has them
// at 0.73 of its size, so scale s becomes size 30 s.
constexpr double kPixelsPerScale = 30;
// Sizes kept per stage instance: a batch has few distinct image sizes, and a new one costs
// only a render or a resize.
constexpr size_t kCacheEntries = 8;

// A length as written: "5%" (a share of some side of the image) or "40" / "40px" (pixels).
struct Length {
    double value = 0;
    bool percent = false;
    int pixels(double whole) const { return static_cast<int>(std::lround(percent ? value * whole / 100 : value)); }
};

// Parses a Length for parameter `param`; `percent_max` bounds a share (exclusive when
// `zero_ok`, inclusive otherwise), `pixel_max` a pixel count.
Length parse_length(const std::string &text, const char *param, const char *whole, bool zero_ok, double percent_max,
                    double pixel_max) {
    std::string t = text;
    while (!t.empty() && t.back() == ' ') t.pop_back();
    while (!t.empty() && t.front() == ' ') t.erase(t.begin());
    Length length;
    if (!t.empty() && t.back() == '%') {
        length.percent = true;
        t.pop_back();
    } else if (t.size() > 2 && t.compare(t.size() - 2, 2, "px") == 0) {
        t.resize(t.size() - 2);
    }
    while (!t.empty() && t.back() == ' ') t.pop_back();
    char *end = nullptr;
    length.value = std::strtod(t.c_str(), &end);
    const bool number = !t.empty() && end != nullptr && *end == '\0' && std::isfinite(length.value);
    const double v = length.value;
    const bool in_range = length.percent ? (zero_ok ? v >= 0 && v < percent_max : v > 0 && v <= percent_max)
                                         : v >= (zero_ok ? 0 : 1) && v <= pixel_max;
    if (number && in_range) return length;
    char bounds[160];
    if (zero_ok)
        std::snprintf(bounds, sizeof bounds, "a share of %s from 0%% to below %g%% or 0 to %.0f pixels", whole,
                      percent_max, pixel_max);
    else
        std::snprintf(bounds, sizeof bounds, "a share of %s above 0%% up to %g%% or 1 to %.0f pixels", whole,
                      percent_max, pixel_max);
    throw ParamError(std::string(param) + " must be " + bounds + " (such as \"5%\" or \"40\"), got \"" + text + "\"");
}

bool readable_file(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    return static_cast<bool>(in);
}

// Where a box of `box` pixels goes in an image of `image` pixels with `margin` kept free
// on every side, by gravity (`avail` = the image minus its margins; the box fits in it).
cv::Point place(const std::string &gravity, cv::Size box, cv::Size image, int margin) {
    const int aw = image.width - 2 * margin, ah = image.height - 2 * margin;
    const auto has = [&](const char *word) { return gravity.find(word) != std::string::npos; };
    int x = margin + (aw - box.width) / 2, y = margin + (ah - box.height) / 2;
    if (has("left")) x = margin;
    if (has("right")) x = margin + aw - box.width;
    if (has("top")) y = margin;
    if (has("bottom")) y = margin + ah - box.height;
    return cv::Point(x, y);
}

// Composites a source pixel "over" the image pixel `p`: `premul` is the source colour in
// the image's units already multiplied by its alpha `a` (0..1), one value per colour
// channel of the image. On 4-channel images the result's alpha is a + d(1 - a), so the
// watermark makes transparent pixels as opaque as itself and keeps its own colour there.
template <typename T>
inline void over(T *p, int channels, const float *premul, float a, float maxv) {
    if (channels == 4) {
        const float da = p[3] / maxv;
        const float oa = a + da * (1 - a);
        if (oa <= 0) return;
        for (int k = 0; k < 3; ++k) p[k] = cv::saturate_cast<T>((premul[k] + p[k] * da * (1 - a)) / oa);
        p[3] = cv::saturate_cast<T>(oa * maxv);
        return;
    }
    for (int k = 0; k < channels; ++k) p[k] = cv::saturate_cast<T>(premul[k] + p[k] * (1 - a));
}

// The text: `colour` (image units, image channel order) at coverage/255 * opacity.
template <typename T>
void composite_text(cv::Mat &roi, const cv::Mat &coverage, const cv::Scalar &colour, double opacity, float maxv) {
    const int channels = roi.channels();
    for (int r = 0; r < roi.rows; ++r) {
        T *p = roi.ptr<T>(r);
        const uint8_t *m = coverage.ptr<uint8_t>(r);
        for (int c = 0; c < roi.cols; ++c, p += channels) {
            if (m[c] == 0) continue;
            const float a = static_cast<float>(m[c] / 255.0 * opacity);
            const float premul[3] = {float(colour[0]) * a, float(colour[1]) * a, float(colour[2]) * a};
            over(p, channels, premul, a, maxv);
        }
    }
}

// The logo: premultiplied BGRA floats (0..1), its alpha times opacity. One-channel images
// get the logo's luma (the weights cv::cvtColor uses).
template <typename T>
void composite_logo(cv::Mat &roi, const cv::Mat &logo, double opacity, float maxv) {
    const int channels = roi.channels();
    const float op = static_cast<float>(opacity), scale = op * maxv;
    for (int r = 0; r < roi.rows; ++r) {
        T *p = roi.ptr<T>(r);
        const float *s = logo.ptr<float>(r);
        for (int c = 0; c < roi.cols; ++c, p += channels, s += 4) {
            const float a = s[3] * op;
            if (a <= 0) continue;
            float premul[3] = {s[0] * scale, s[1] * scale, s[2] * scale};
            if (channels == 1) premul[0] = (0.114f * s[0] + 0.587f * s[1] + 0.299f * s[2]) * scale;
            over(p, channels, premul, a, maxv);
        }
    }
}

// Any image read_image returns as premultiplied BGRA floats, 0..1.
cv::Mat premultiplied_bgra(const cv::Mat &image, const std::string &path) {
    double scale = 1;
    switch (image.depth()) {
    case CV_8U: scale = 1 / 255.0; break;
    case CV_16U: scale = 1 / 65535.0; break;
    case CV_32F: break;
    default: throw std::runtime_error("the logo " + path + " is a " + describe(image) + " image, which is not supported");
    }
    cv::Mat f;
    image.convertTo(f, CV_32F, scale);
    cv::Mat bgra;
    switch (image.channels()) {
    case 1: cv::cvtColor(f, bgra, cv::COLOR_GRAY2BGRA); break;
    case 3: cv::cvtColor(f, bgra, cv::COLOR_BGR2BGRA); break;
    case 4: bgra = f; break;
    default:
        throw std::runtime_error("the logo " + path + " has " + std::to_string(image.channels()) +
                                 " channels; use a gray, colour or colour + alpha image");
    }
    for (int r = 0; r < bgra.rows; ++r) {
        float *p = bgra.ptr<float>(r);
        for (int c = 0; c < bgra.cols; ++c, p += 4) {
            for (int k = 0; k < 4; ++k) p[k] = std::clamp(p[k], 0.0f, 1.0f); // float images may pass white
            for (int k = 0; k < 3; ++k) p[k] *= p[3];
        }
    }
    return bgra;
}

} // namespace

struct WatermarkState {
    std::string gravity;
    Length margin;
    Rgba colour;

    // Text
    std::unique_ptr<Font> font;
    std::u32string text;
    Length size;               // unused when scale gives an absolute size
    std::string missing_note;  // the warning for characters the font lacks ("" when none)
    // (font size, room) -> coverage, empty when the text cannot fit
    std::vector<std::tuple<int, cv::Size, cv::Mat>> masks;

    // Logo
    std::string logo_path;
    Length logo_width;
    cv::Mat logo;              // premultiplied BGRA floats; read at the first job
    std::string logo_error;    // why the logo could not be read (every job fails with it)
    std::vector<std::pair<cv::Size, cv::Mat>> logos; // resized copies by size

    // The text's coverage at font size `px`, shrunk until it fits in `room`; empty when it
    // cannot fit even at 1 pixel.
    const cv::Mat &text_mask(int px, cv::Size room) {
        for (const auto &[cached_px, cached_room, cached] : masks)
            if (cached_px == px && cached_room == room) return cached;
        cv::Mat mask;
        cv::Size box;
        const auto fits = [&](int font_size) {
            box = font->measure(text, font_size);
            return box.width <= room.width && box.height <= room.height;
        };
        int s = std::clamp(px, 1, Font::kMaxPixelSize);
        if (!fits(s)) {
            // Glyph boxes grow almost linearly with the font size: scale down by the overflow
            // until a size fits, then take the largest size that fits (measuring is cheap).
            int too_big = s;
            for (;;) {
                const double f = std::min(double(room.width) / box.width, double(room.height) / box.height);
                s = std::min(too_big - 1, static_cast<int>(std::floor(too_big * f)));
                if (s < 1 || fits(s)) break;
                too_big = s;
            }
            while (s >= 1 && too_big - s > 1) {
                const int mid = s + (too_big - s) / 2;
                if (fits(mid)) s = mid;
                else too_big = mid;
            }
        }
        // The measure is the rasteriser's box; should a rendered glyph still come out a pixel
        // larger, a smaller size is taken.
        for (; s >= 1; --s) {
            cv::Mat drawn = font->render(text, s);
            if (drawn.empty()) break; // no ink at this size
            if (drawn.cols <= room.width && drawn.rows <= room.height) {
                mask = drawn;
                break;
            }
        }
        if (masks.size() >= kCacheEntries) masks.erase(masks.begin());
        masks.emplace_back(px, room, mask);
        return std::get<2>(masks.back());
    }

    // The logo resized (premultiplied, area filter) to `target`.
    const cv::Mat &logo_at(cv::Size target) {
        for (const auto &[cached_size, cached] : logos)
            if (cached_size == target) return cached;
        cv::Mat resized;
        cv::resize(logo, resized, target, 0, 0, target == logo.size() ? cv::INTER_NEAREST : cv::INTER_AREA);
        if (logos.size() >= kCacheEntries) logos.erase(logos.begin());
        logos.emplace_back(target, resized);
        return logos.back().second;
    }
};

Watermark::Watermark() = default;
Watermark::~Watermark() = default;

void Watermark::validate() {
    auto state = std::make_unique<WatermarkState>();
    const bool has_text = text.is_set() && !text.value().empty();
    const bool has_image = image.is_set();
    if (!has_text && !has_image)
        throw ParamError("watermark needs text (a line of text) or image (a logo file)");
    if (has_text && has_image)
        throw ParamError("give text or image, not both: use two watermark stages to draw both");

    state->gravity = gravity.value();
    if (position.is_set()) {
        const std::string &p = position.value();
        if (p != "top_left" && p != "top_right" && p != "bottom_left" && p != "bottom_right" && p != "center")
            throw ParamError("position must be one of top_left, top_right, bottom_left, bottom_right, center, got \"" +
                             p + "\" (gravity, its new name, also takes top, bottom, left and right)");
        if (gravity != "bottom_right" && gravity.value() != p)
            throw ParamError("position is the old name of gravity: give only gravity");
        state->gravity = p;
    }
    state->margin = parse_length(margin, "margin", "the image's shorter side", true, 50, kMaxSide);

    if (has_image) {
        for (const batchproc::detail::ParamBase *p : {static_cast<const batchproc::detail::ParamBase *>(&font),
                                                      static_cast<const batchproc::detail::ParamBase *>(&size),
                                                      static_cast<const batchproc::detail::ParamBase *>(&scale)})
            if (p->is_set()) throw ParamError(std::string(p->name()) + " is for text, and this stage draws an image");
        state->logo_path = image.value();
        state->logo_width = width.is_set() ? parse_length(width, "width", "the image's width", false, 100, kMaxSide)
                                           : Length{15, true};
        state_ = std::move(state);
        return;
    }

    if (width.is_set()) throw ParamError("width is for an image (a logo); the size of text is size");
    try {
        state->text = decode_utf8(text.value());
    } catch (const std::invalid_argument &e) {
        throw ParamError(std::string("text ") + e.what());
    }
    for (const char32_t cp : state->text)
        if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp == 0x2028 || cp == 0x2029)
            throw ParamError("text must be one line without control characters, but it has " + code_point_name(cp) +
                             "; use one watermark stage per line");
    state->colour = parse_colour(color, "color");
    if (scale.is_set() && size.is_set()) throw ParamError("scale is the old way to give size: give only size");
    state->size = scale.is_set() ? Length{kPixelsPerScale * scale, false}
                  : size.is_set() ? parse_length(size, "size", "the image's shorter side", false, 100, Font::kMaxPixelSize)
                                  : Length{5, true};

    std::string font_path = font.value();
    if (!font.is_set()) {
        font_path = kDefaultFont;
        if (!readable_file(font_path))
            throw ParamError(std::string("the default font ") + kDefaultFont +
                             " is missing: install it (apt-get install fonts-dejavu-core) or set font to a "
                             "TrueType or OpenType file");
    }
    try {
        state->font = std::make_unique<Font>(font_path);
    } catch (const std::runtime_error &e) {
        throw ParamError(std::string("font: ") + e.what());
    }
    if (state->font->measure(state->text, 64).empty())
        throw ParamError("text has nothing to draw: only spaces, or characters the font " + font_path +
                         " has no glyphs for (choose another with font)");
    const std::u32string missing = state->font->missing(state->text);
    if (!missing.empty()) {
        std::string list;
        for (const char32_t cp : missing)
            list += (list.empty() ? "" : ", ") + encode_utf8(cp) + " (" + code_point_name(cp) + ")";
        const std::string file = font_path.substr(font_path.find_last_of('/') + 1);
        state->missing_note = "watermark: the font " + file + " has no glyph for " + list +
                              ", left out of the text; set font to one that has them";
    }
    state_ = std::move(state);
}

void Watermark::process(Job &job) {
    cv::Mat photo = job.image();
    check_image(photo, name);
    WatermarkState &st = *state_;
    const int W = photo.cols, H = photo.rows;
    const int m = st.margin.pixels(std::min(W, H));
    const cv::Size room(W - 2 * m, H - 2 * m);
    if (!st.missing_note.empty()) job.warn(st.missing_note);
    if (room.width < 1 || room.height < 1) {
        job.warn("watermark: the " + std::to_string(W) + "x" + std::to_string(H) + " image has no room inside its " +
                 std::to_string(m) + "-pixel margin; nothing is drawn");
        return;
    }
    const float maxv = static_cast<float>(max_value(photo.depth()));

    if (st.font) {
        const int px = std::max(1, st.size.pixels(std::min(W, H)));
        const cv::Mat &mask = st.text_mask(px, room);
        if (mask.empty()) {
            job.warn("watermark: the text does not fit in the " + std::to_string(W) + "x" + std::to_string(H) +
                     " image even at 1 pixel; nothing is drawn");
            return;
        }
        cv::Mat roi = photo(cv::Rect(place(st.gravity, mask.size(), photo.size(), m), mask.size()));
        const cv::Scalar colour = colour_scalar(st.colour, photo.depth(), photo.channels() == 1 ? 1 : 3);
        if (photo.depth() == CV_8U) composite_text<uint8_t>(roi, mask, colour, opacity, maxv);
        else composite_text<uint16_t>(roi, mask, colour, opacity, maxv);
        return;
    }

    // The logo is read once, at the first job (through the host's decoders), and kept.
    if (!st.logo_error.empty()) throw std::runtime_error(st.logo_error);
    if (st.logo.empty()) {
        try {
            st.logo = premultiplied_bgra(job.read_image(st.logo_path), st.logo_path);
        } catch (const std::exception &e) {
            st.logo_error = e.what();
            throw;
        }
    }
    // The logo's width from the image's, its height from its own aspect ratio; then shrunk,
    // aspect kept, until it fits inside the margins.
    double w = std::max(1, st.logo_width.pixels(W));
    double h = w * st.logo.rows / st.logo.cols;
    const double fit = std::min({1.0, room.width / w, room.height / h});
    const cv::Size target(std::max(1, static_cast<int>(std::floor(w * fit + 1e-9))),
                          std::max(1, static_cast<int>(std::floor(h * fit + 1e-9))));
    const cv::Mat &logo = st.logo_at(target);
    cv::Mat roi = photo(cv::Rect(place(st.gravity, target, photo.size(), m), target));
    if (photo.depth() == CV_8U) composite_logo<uint8_t>(roi, logo, opacity, maxv);
    else composite_logo<uint16_t>(roi, logo, opacity, maxv);
}

} // namespace imgproc
