// The imgproc stages. Each class's parameter members are its schema (validation, `batchproc
// plugins`, docs/stages.md); process() lives in the source file of its concern.
#pragma once

#include "common.hpp"

#include <batchproc/plugin.hpp>

namespace imgproc {

using batchproc::BoolParam;
using batchproc::ChoiceParam;
using batchproc::FloatParam;
using batchproc::IntParam;
using batchproc::Job;
using batchproc::PathParam;
using batchproc::Stage;
using batchproc::StringParam;
using batchproc::unset;

// ---------------------------------------------------------------- geometry.cpp

class Resize : public Stage {
public:
    static constexpr const char *name = "resize";
    static constexpr const char *doc =
        "Scales the image: to width and/or height (fit inside, pad, crop or stretch to that box), to fit max_side, "
        "or by a scale factor.";
    IntParam width{this, "width", unset, "output width in pixels", {1, kMaxSide}};
    IntParam height{this, "height", unset, "output height in pixels", {1, kMaxSide}};
    IntParam max_side{this, "max_side", unset, "longest side of the output in pixels", {1, kMaxSide}};
    FloatParam scale{this, "scale", unset, "factor applied to both sides (0.5 halves them)", {0.001, 100}};
    ChoiceParam fit{this, "fit", "auto", {"auto", "inside", "contain", "cover", "fill", "outside"},
                    "with width and height: inside fits in the box, contain fits and pads to it, cover fills "
                    "and crops it, fill stretches to it, outside covers it uncropped; auto = inside (fill with "
                    "keep_aspect: false)"};
    ChoiceParam gravity{this,
                        "gravity",
                        "center",
                        {"center", "top", "bottom", "left", "right", "top_left", "top_right", "bottom_left",
                         "bottom_right", "entropy", "attention"},
                        "fit cover: which part to keep (entropy, attention: the most detailed); fit contain: "
                        "where the image sits in its padding"};
    StringParam background{this, "background", unset, "fit contain: colour of the padding (default black)"};
    ChoiceParam interpolation{this, "interpolation", "area", {"nearest", "linear", "cubic", "area", "lanczos"},
                              "resampling filter"};
    BoolParam keep_aspect{this, "keep_aspect", true,
                          "with only width or height: scale the other side too; false with both: as fit fill"};
    BoolParam upscale{this, "upscale", false,
                      "allow enlarging with width, height or max_side (scale always applies)"};
    void validate() override;
    void process(Job &job) override;
    int decode_hint(int width, int height) const override;

private:
    cv::Size scaled_size(double w, double h) const; // the resampled size for an input of w x h
    std::string fit_ = "inside";                    // fit, with auto resolved
    Rgba background_;
};

class Crop : public Stage {
public:
    static constexpr const char *name = "crop";
    static constexpr const char *doc =
        "Cuts out a rectangle: at a corner (x, y), or placed by gravity (a side, a corner, the most detailed part).";
    IntParam x{this, "x", unset, "left edge of the crop (default 0); not with gravity", {0, kMaxSide}};
    IntParam y{this, "y", unset, "top edge of the crop (default 0); not with gravity", {0, kMaxSide}};
    IntParam width{this, "width", unset, "crop width in pixels (default: the rest of the image)", {1, kMaxSide}};
    IntParam height{this, "height", unset, "crop height in pixels (default: the rest of the image)", {1, kMaxSide}};
    ChoiceParam gravity{this,
                        "gravity",
                        "none",
                        {"none", "center", "top", "bottom", "left", "right", "top_left", "top_right", "bottom_left",
                         "bottom_right", "entropy", "attention"},
                        "where to place the crop in the image; none = at x, y; entropy, attention = the most "
                        "detailed part"};
    void validate() override;
    void process(Job &job) override;
};

class Rotate : public Stage {
public:
    static constexpr const char *name = "rotate";
    static constexpr const char *doc =
        "Rotates counter-clockwise; multiples of 90 degrees are exact, other angles resample.";
    FloatParam angle{this, "angle", unset, "degrees, counter-clockwise (negative: clockwise); required",
                     {-360, 360}};
    BoolParam expand{this, "expand", true, "enlarge the canvas to hold the whole rotated image (else keep the size)"};
    StringParam background{this, "background", "black", "colour of the uncovered corners"};
    ChoiceParam interpolation{this, "interpolation", "linear", {"nearest", "linear", "cubic", "lanczos"},
                              "resampling filter for angles that are not multiples of 90"};
    void validate() override;
    void process(Job &job) override;

private:
    Rgba background_;
};

class Flip : public Stage {
public:
    static constexpr const char *name = "flip";
    static constexpr const char *doc = "Mirrors the image.";
    ChoiceParam direction{this, "direction", "horizontal", {"horizontal", "vertical", "both"},
                          "horizontal swaps left and right, vertical swaps top and bottom"};
    void process(Job &job) override;
};

class Pad : public Stage {
public:
    static constexpr const char *name = "pad";
    static constexpr const char *doc = "Adds a border around the image.";
    IntParam all{this, "all", unset, "border width on every side not given on its own", {0, kMaxSide}};
    IntParam top{this, "top", unset, "border above, in pixels", {0, kMaxSide}};
    IntParam bottom{this, "bottom", unset, "border below, in pixels", {0, kMaxSide}};
    IntParam left{this, "left", unset, "border on the left, in pixels", {0, kMaxSide}};
    IntParam right{this, "right", unset, "border on the right, in pixels", {0, kMaxSide}};
    StringParam color{this, "color", "black", "border colour for mode constant"};
    ChoiceParam mode{this, "mode", "constant", {"constant", "reflect", "replicate"},
                     "constant fills with color, reflect mirrors the image, replicate repeats its edge"};
    void validate() override;
    void process(Job &job) override;

private:
    Rgba color_;
};

// ---------------------------------------------------------------- filters.cpp

class GaussianBlur : public Stage {
public:
    static constexpr const char *name = "gaussian_blur";
    static constexpr const char *doc = "Gaussian blur.";
    IntParam ksize{this, "ksize", 3, "kernel side in pixels, odd; 0 = derived from sigma", {0, 255}};
    FloatParam sigma{this, "sigma", 0.0, "standard deviation in pixels; 0 = derived from ksize", {0, 100}};
    void validate() override;
    void process(Job &job) override;
};

class MedianBlur : public Stage {
public:
    static constexpr const char *name = "median_blur";
    static constexpr const char *doc = "Median filter (removes salt-and-pepper noise, keeps edges).";
    IntParam ksize{this, "ksize", 3, "kernel side in pixels, odd; 16-bit images allow only 3 or 5", {3, 255}};
    void validate() override;
    void process(Job &job) override;
};

class Sharpen : public Stage {
public:
    static constexpr const char *name = "sharpen";
    static constexpr const char *doc = "Unsharp mask: adds amount times the difference from a Gaussian blur.";
    FloatParam amount{this, "amount", 1.0, "strength: 0 = none, 1 = add the full difference", {0, 20}};
    FloatParam radius{this, "radius", 1.0, "sigma of the blur, in pixels", {0.1, 100}};
    FloatParam threshold{this, "threshold", 0.0,
                         "differences smaller than this (8-bit units) are left alone, to spare noise", {0, 255}};
    void process(Job &job) override;
};

class Canny : public Stage {
public:
    static constexpr const char *name = "canny";
    static constexpr const char *doc = "Canny edge detector; the output is one 8-bit channel, edges 255.";
    FloatParam low{this, "low", 50.0, "lower hysteresis threshold on the gradient", {0, 100000}};
    FloatParam high{this, "high", 150.0, "upper hysteresis threshold on the gradient", {0, 100000}};
    IntParam aperture{this, "aperture", 3, "Sobel aperture: 3, 5 or 7", {3, 7}};
    BoolParam l2gradient{this, "l2gradient", false, "use the exact L2 gradient norm instead of L1"};
    void validate() override;
    void process(Job &job) override;
};

class Threshold : public Stage {
public:
    static constexpr const char *name = "threshold";
    static constexpr const char *doc = "Turns the image into one 8-bit channel of 0 and max_value.";
    ChoiceParam method{this, "method", "binary", {"binary", "binary_inv", "otsu", "adaptive_mean", "adaptive_gaussian"},
                       "binary: above value becomes max_value; binary_inv: the reverse; otsu: value chosen from "
                       "the histogram; adaptive_mean, adaptive_gaussian: compare with the local mean minus c"};
    FloatParam value{this, "value", 128.0, "threshold in 8-bit units (binary, binary_inv)", {0, 255}};
    FloatParam max_value{this, "max_value", 255.0, "output value of pixels that pass", {0, 255}};
    IntParam block_size{this, "block_size", 11, "side of the neighbourhood for adaptive methods, odd", {3, 1001}};
    FloatParam c{this, "c", 2.0, "constant subtracted from the local mean (adaptive methods, 8-bit units)",
                 {-255, 255}};
    void validate() override;
    void process(Job &job) override;
};

// ---------------------------------------------------------------- tone.cpp

class Grayscale : public Stage {
public:
    static constexpr const char *name = "grayscale";
    static constexpr const char *doc = "Converts to one channel of luma (0.299 R + 0.587 G + 0.114 B).";
    BoolParam keep_alpha{this, "keep_alpha", true,
                         "for images with alpha: output gray as 4 channels (B=G=R) keeping the alpha; false drops it"};
    void process(Job &job) override;
};

class Equalize : public Stage {
public:
    static constexpr const char *name = "equalize";
    static constexpr const char *doc = "Spreads the histogram; colour images equalize their luma (YCrCb) only.";
    ChoiceParam method{this, "method", "histogram", {"histogram", "clahe"},
                       "histogram: global; clahe: contrast-limited, per tile"};
    FloatParam clip_limit{this, "clip_limit", 2.0, "clahe: contrast limit per tile; 0 = no limit", {0, 1000}};
    IntParam tile{this, "tile", 8, "clahe: the image is split into tile x tile regions", {1, 256}};
    void process(Job &job) override;
};

class BrightnessContrast : public Stage {
public:
    static constexpr const char *name = "brightness_contrast";
    static constexpr const char *doc =
        "out = (in - mid) * contrast + mid + brightness, with mid the middle of the range; alpha is kept.";
    FloatParam brightness{this, "brightness", 0.0, "added to every sample, in 8-bit units (x257 for 16-bit)",
                          {-255, 255}};
    FloatParam contrast{this, "contrast", 1.0, "multiplier around mid-gray: >1 more contrast, <1 less",
                        {0, 10}};
    void process(Job &job) override;
};

class Gamma : public Stage {
public:
    static constexpr const char *name = "gamma";
    static constexpr const char *doc = "Gamma correction: out = max * (in / max)^(1 / gamma); alpha is kept.";
    FloatParam gamma{this, "gamma", unset, "above 1 brightens mid-tones, below 1 darkens them; required",
                     {0.01, 100}};
    void validate() override;
    void process(Job &job) override;
};

// ---------------------------------------------------------------- annotate.cpp

struct WatermarkState; // annotate.cpp: the parsed sizes, the font or the logo, and caches

class Watermark : public Stage {
public:
    static constexpr const char *name = "watermark";
    static constexpr const char *doc =
        "Draws a line of text or a logo image, blended with the image and sized relative to it.";
    StringParam text{this, "text", unset, "one line of text, UTF-8 in any language; this or image"};
    PathParam image{this, "image", unset, "a logo file (PNG with alpha, or any format batchproc reads); this or text"};
    PathParam font{this, "font", unset, "TrueType or OpenType font file for text; default DejaVu Sans"};
    StringParam size{this, "size", unset, "text size: % of the image's shorter side (5%) or pixels (40); default 5%"};
    StringParam width{this, "width", unset, "logo width: % of the image's width (15%) or pixels (200); default 15%"};
    ChoiceParam gravity{this,
                        "gravity",
                        "bottom_right",
                        {"center", "top", "bottom", "left", "right", "top_left", "top_right", "bottom_left",
                         "bottom_right"},
                        "where the text or logo goes"};
    StringParam margin{this, "margin", "2%", "distance from the image's edges: % of its shorter side (2%) or pixels (10)"};
    StringParam color{this, "color", "white", "text colour"};
    FloatParam opacity{this, "opacity", 0.5, "0 = invisible, 1 = opaque (times the logo's own alpha)", {0, 1}};
    StringParam position{this, "position", unset,
                         "old name of gravity (top_left, top_right, bottom_left, bottom_right, center)"};
    FloatParam scale{this, "scale", unset, "old absolute text size: scale 1 = size 30 pixels; use size", {0.1, 50}};
    Watermark();
    ~Watermark() override;
    void validate() override;
    void process(Job &job) override;

private:
    std::unique_ptr<WatermarkState> state_;
};

// ---------------------------------------------------------------- save.cpp

class Save : public Stage {
public:
    static constexpr const char *name = "save";
    static constexpr const char *doc = "Encodes the image as it is at this point and writes it to an output file.";
    static constexpr uint32_t flags = BP_STAGE_NEEDS_IMAGE | BP_STAGE_WRITES_OUTPUT;
    static constexpr const char *extension_param = "format";
    static constexpr const char *name_param = "name";
    StringParam file_name{this, "name", unset,
                          "this output's file name: a template relative to output.dir, as output.name (which "
                          "it replaces for this save)"};
    ChoiceParam format{this, "format", "auto", {"auto", "jpg", "png", "webp", "tiff", "avif", "bmp"},
                       "file format; auto keeps the input's"};
    IntParam quality{this, "quality", 90, "jpg, webp and avif quality", {1, 100}};
    IntParam png_compression{this, "png_compression", 6, "png zlib level: 0 = fastest, 9 = smallest", {0, 9}};
    BoolParam progressive{this, "progressive", false, "write a progressive jpg"};
    BoolParam optimize{this, "optimize", false, "jpg: optimised Huffman tables (a few % smaller, a little slower)"};
    ChoiceParam subsampling{this, "subsampling", "420", {"420", "422", "444"},
                            "jpg chroma subsampling: 420 (smallest), 422, or 444 (sharpest colour edges)"};
    BoolParam lossless{this, "lossless", false, "webp and avif: lossless (quality is then ignored)"};
    StringParam background{this, "background", "white",
                           "colour that transparent pixels are blended over for formats without alpha (jpg, bmp)"};
    void validate() override;
    void process(Job &job) override;

private:
    Rgba background_;
};

} // namespace imgproc
