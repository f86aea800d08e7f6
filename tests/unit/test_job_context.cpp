#include "plugin_host/job_context.hpp"

#include <batchproc/plugin.hpp>

#include <gtest/gtest.h>

using namespace batchproc;

namespace {
struct Fixture {
    JobContext ctx{7, "/in/a.png"};
    Job job{JobContext::host_api(), ctx.handle()};
};
} // namespace

TEST(JobContext, AStageSeesTheHostImageWithoutACopy) {
    Fixture f;
    cv::Mat m(4, 6, CV_8UC3, cv::Scalar(1, 2, 3));
    f.ctx.set_image(m);
    cv::Mat view = f.job.image();
    EXPECT_EQ(view.data, m.data);
    EXPECT_EQ(view.cols, 6);
    EXPECT_EQ(view.rows, 4);
    EXPECT_EQ(f.job.index(), 7);
    EXPECT_EQ(f.job.input_path(), "/in/a.png");
}

TEST(JobContext, AViewIntoTheCurrentImageStaysValidAfterItIsReplaced) {
    Fixture f;
    {
        cv::Mat m(10, 10, CV_8UC1);
        for (int i = 0; i < 100; ++i) m.data[i] = uchar(i);
        f.ctx.set_image(m);
    }
    // A crop handed back as a view of the current pixels.
    f.job.set_image(f.job.image()(cv::Rect(2, 3, 4, 4)));
    const cv::Mat cropped = f.ctx.image();
    ASSERT_EQ(cropped.cols, 4);
    EXPECT_EQ(cropped.at<uchar>(0, 0), 32); // row 3, column 2 of the original
    // Replace again with fresh pixels: the crop is no longer needed.
    f.job.set_image(cv::Mat(2, 2, CV_8UC1, cv::Scalar(9)));
    EXPECT_EQ(f.ctx.image().at<uchar>(1, 1), 9);
}

TEST(JobContext, SourceSizeIsTheFullSizeUntilAStageReplacesTheImage) {
    Fixture f;
    f.ctx.set_image(cv::Mat(100, 150, CV_8UC3));
    EXPECT_EQ(f.job.source_size(), cv::Size(150, 100));
    f.ctx.set_source_size(1200, 800); // decoded at 1/8
    EXPECT_EQ(f.job.source_size(), cv::Size(1200, 800));
    f.job.set_image(cv::Mat(10, 20, CV_8UC3));
    EXPECT_EQ(f.job.source_size(), cv::Size(20, 10));
}

TEST(JobContext, MetricsWarningsAndOneOutput) {
    Fixture f;
    std::string written;
    f.ctx.set_output_writer([&](const void *d, size_t n) { written.assign(static_cast<const char *>(d), n); });
    f.job.metric("n", int64_t(3));
    f.job.metric("mean", 0.5);
    f.job.metric("sum", std::string("12345678901234567890123"));
    f.job.warn("careful");
    f.job.write_output("abc", 3);
    EXPECT_EQ(written, "abc");
    EXPECT_EQ(f.ctx.bytes_out(), 3u);
    EXPECT_THROW(f.job.write_output("def", 3), std::runtime_error); // one output per job
    EXPECT_EQ(f.ctx.metrics().dump(), R"({"n":3,"mean":0.5,"sum":"12345678901234567890123"})");
    EXPECT_EQ(f.ctx.warnings(), std::vector<std::string>{"careful"});
}

TEST(JobContext, NoImageMeansAClearError) {
    Fixture f;
    EXPECT_FALSE(f.job.has_image());
    EXPECT_THROW(f.job.image(), std::runtime_error);
}

// The host never throws across the C ABI: bad values from a stage are refused, kept as the
// job's host error (which fails the job when the stage returns), and the pixels handed over
// are still released.
TEST(JobContext, BadValuesInHostCallsAreRefusedWithoutThrowing) {
    Fixture f;
    const bp_host_api *host = JobContext::host_api();
    f.ctx.set_image(cv::Mat(4, 4, CV_8UC3, cv::Scalar(5)));
    static int released = 0;
    uint8_t pixels[64] = {};
    const auto release = [](void *) { ++released; };
    for (const bp_image bad : {bp_image{pixels, -3, 4, 3, BP_DEPTH_U8, 12}, bp_image{pixels, 4, 4, 7, BP_DEPTH_U8, 28},
                               bp_image{pixels, 4, 4, 1, 42, 4}, bp_image{pixels, 4, 4, 3, BP_DEPTH_U8, 2},
                               bp_image{nullptr, 4, 4, 1, BP_DEPTH_U8, 4}}) {
        EXPECT_NO_THROW(host->set_image(f.ctx.handle(), &bad, release, nullptr));
        const std::string error = f.ctx.take_host_error();
        EXPECT_NE(error.find("set_image"), std::string::npos) << error;
        EXPECT_EQ(f.ctx.image().cols, 4) << "a refused image leaves the current one";
    }
    EXPECT_EQ(released, 5) << "refused pixels are still released";
    host->set_metric_int(f.ctx.handle(), nullptr, 1);
    host->warn(f.ctx.handle(), nullptr);
    EXPECT_EQ(f.ctx.take_host_error(), "");
    bp_error err{};
    bp_encode_options options{};
    options.struct_size = sizeof options;
    EXPECT_EQ(host->write_image(f.ctx.handle(), nullptr, "png", &options, nullptr, &err), BP_ERROR);
    EXPECT_NE(std::string(err.message).find("write_image"), std::string::npos) << err.message;
}
