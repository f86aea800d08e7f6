#include <batchproc/plugin.hpp>

#include <opencv2/imgproc.hpp>

namespace {
class Grayscale : public batchproc::Stage {
public:
    static constexpr const char *name = "grayscale";
    static constexpr const char *doc = "Converts to one channel of luminance.";
    void process(batchproc::Job &job) override {
        cv::Mat in = job.image(), out;
        if (in.channels() == 1) return;
        cv::cvtColor(in, out, in.channels() == 4 ? cv::COLOR_BGRA2GRAY : cv::COLOR_BGR2GRAY);
        job.set_image(out);
    }
};
} // namespace

BATCHPROC_PLUGIN("imgproc", "1.0.0", "Image processing stages built on OpenCV.", Grayscale)
