// my_effects: a sample batchproc plugin built outside the batchproc tree, against the
// installed SDK (see CMakeLists.txt beside this file and docs/plugins.md).
//
// Two stages:
//   sepia     tints the image brown, like an old print      (amount)
//   vignette  darkens the edges towards the corners         (strength, radius, shape)
//
// Both work on 8-bit, 16-bit and float images with 1, 3 or 4 channels; alpha is kept.
#include <batchproc/plugin.hpp>

#include <opencv2/core.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// ------------------------------------------------------------------------------- sepia

class Sepia : public batchproc::Stage {
public:
    static constexpr const char *name = "sepia";
    static constexpr const char *doc = "Tints the image brown like an old print; grayscale input becomes colour.";

    batchproc::FloatParam amount{this, "amount", 1.0, "0 = unchanged, 1 = full sepia", {0, 1}};

    void process(batchproc::Job &job) override {
        cv::Mat in = job.image();
        if (in.channels() == 2 || in.channels() > 4)
            throw std::runtime_error("sepia works on 1, 3 or 4 channel images, this one has " +
                                     std::to_string(in.channels()));
        if (in.channels() == 1) {
            cv::Mat gray = in;
            cv::merge(std::vector<cv::Mat>{gray, gray, gray}, in); // sepia needs colour channels
        }

        // The classic sepia matrix, rows and columns in OpenCV's B, G, R order, blended with
        // the identity by `amount`.
        const float tone[3][3] = {{0.131f, 0.534f, 0.272f}, {0.168f, 0.686f, 0.349f}, {0.189f, 0.769f, 0.393f}};
        const float a = float(amount.value());
        const int n = in.channels(); // 3, or 4 with alpha passed through
        cv::Mat m = cv::Mat::eye(n, n, CV_32F);
        for (int r = 0; r < 3; ++r)
            for (int c = 0; c < 3; ++c) m.at<float>(r, c) = (1 - a) * (r == c ? 1.0f : 0.0f) + a * tone[r][c];

        cv::Mat out;
        cv::transform(in, out, m); // saturates for integer depths
        if (out.depth() == CV_32F) cv::min(out, 1.0, out);
        job.set_image(out);
    }
};

// ---------------------------------------------------------------------------- vignette

class Vignette : public batchproc::Stage {
public:
    static constexpr const char *name = "vignette";
    static constexpr const char *doc = "Darkens the image towards its corners.";

    batchproc::FloatParam strength{this, "strength", 0.5, "darkening at the corners: 0 = none, 1 = black", {0, 1}};
    batchproc::FloatParam radius{this, "radius", 0.5,
                                 "where the darkening starts, as a fraction of the centre-to-corner distance",
                                 {0, 1}};
    batchproc::ChoiceParam shape{this, "shape", "ellipse", {"ellipse", "circle"},
                                 "ellipse follows the image's sides; circle is round whatever the aspect"};

    void validate() override {
        if (strength.value() > 0 && radius.value() >= 1)
            throw batchproc::ParamError("radius 1 leaves nothing to darken; use a radius below 1 "
                                        "(or strength 0 to turn the stage off)");
    }

    void process(batchproc::Job &job) override {
        // The job's pixels belong to this job alone, so the stage darkens them in place.
        cv::Mat image = job.image();
        switch (image.depth()) {
        case CV_8U: darken<uint8_t>(image); break;
        case CV_16U: darken<uint16_t>(image); break;
        case CV_32F: darken<float>(image); break;
        default: throw std::runtime_error("vignette works on 8-bit, 16-bit or float images");
        }
        job.metric("vignette_min_gain", 1.0 - strength.value());
    }

private:
    // The gain at a normalised distance d from the centre (0 at the centre, 1 at a corner):
    // 1 up to `radius`, then a smooth fall to 1 - strength at the corners.
    float gain(double d) const {
        const double r = radius.value();
        if (r >= 1) return 1.0f;
        const double t = std::clamp((d - r) / (1 - r), 0.0, 1.0);
        return float(1 - strength.value() * t * t * (3 - 2 * t));
    }

    template <typename T>
    void darken(cv::Mat &image) const {
        const int channels = image.channels();
        const int colour = channels == 4 ? 3 : channels; // alpha keeps its value
        const double cx = (image.cols - 1) / 2.0, cy = (image.rows - 1) / 2.0;
        const bool circle = shape == "circle";
        // ellipse: each axis scaled by its half-side; circle: both by the half-diagonal.
        const double half_diagonal = std::max(std::hypot(cx, cy), 1e-9);
        const double sx = circle ? half_diagonal : std::max(cx, 1e-9) * std::sqrt(2.0);
        const double sy = circle ? half_diagonal : std::max(cy, 1e-9) * std::sqrt(2.0);
        for (int y = 0; y < image.rows; ++y) {
            T *row = image.ptr<T>(y);
            const double dy = (y - cy) / sy;
            for (int x = 0; x < image.cols; ++x) {
                const double dx = (x - cx) / sx;
                const float g = gain(std::sqrt(dx * dx + dy * dy));
                T *px = row + size_t(x) * channels;
                for (int c = 0; c < colour; ++c) px[c] = cv::saturate_cast<T>(float(px[c]) * g);
            }
        }
    }
};

} // namespace

BATCHPROC_PLUGIN("my_effects", "1.0.0", "Sample out-of-tree plugin: sepia and vignette.", Sepia, Vignette)
