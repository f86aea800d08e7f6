// bp_host_api.read_image / release_image (API 1.2, plugin_host/host_images.cpp) and the SDK's
// Job::read_image over them: image files a stage reads with the host's decoders.
#include "plugin_host/host_images.hpp"
#include "plugin_host/job_context.hpp"
#include "support/exiv2_edit.hpp"
#include "support/image_bytes.hpp"
#include "support/run_helpers.hpp"

#include <batchproc/plugin.hpp>

#include <gtest/gtest.h>
#include <opencv2/core.hpp>

#include <cstddef>
#include <string>

namespace fs = std::filesystem;
using namespace batchproc;
using batchproc::test::TempDir;

namespace {

struct Fixture {
    TempDir dir{"bp-host-images"};
    JobContext ctx{0, ""};
    Job job{JobContext::host_api(), ctx.handle()};
};

} // namespace

TEST(HostImages, TheHostTableOffersThem) {
    const bp_host_api *api = JobContext::host_api();
    EXPECT_GE(api->struct_size, offsetof(bp_host_api, release_image) + sizeof api->release_image);
    EXPECT_NE(api->read_image, nullptr);
    EXPECT_NE(api->release_image, nullptr);
    EXPECT_GE(BP_API_VERSION_MINOR, 2);
}

TEST(HostImages, APngWithAlphaThroughTheCApi) {
    Fixture f;
    cv::Mat logo(3, 5, CV_8UC4, cv::Scalar(10, 20, 30, 0));
    logo.at<cv::Vec4b>(1, 2) = cv::Vec4b(200, 100, 50, 255);
    test::write_bytes(f.dir / "logo.png", test::encode_image(".png", logo));

    bp_image view{};
    void *handle = nullptr;
    bp_error err{};
    ASSERT_EQ(host_read_image(f.ctx.handle(), (f.dir / "logo.png").c_str(), &view, &handle, &err), BP_OK) << err.message;
    ASSERT_NE(handle, nullptr);
    EXPECT_EQ(view.width, 5);
    EXPECT_EQ(view.height, 3);
    EXPECT_EQ(view.channels, 4); // alpha kept
    EXPECT_EQ(view.depth, BP_DEPTH_U8);
    const cv::Mat pixels(view.height, view.width, CV_8UC4, view.data, view.stride);
    EXPECT_EQ(pixels.at<cv::Vec4b>(1, 2), cv::Vec4b(200, 100, 50, 255));
    EXPECT_EQ(pixels.at<cv::Vec4b>(0, 0), cv::Vec4b(10, 20, 30, 0));
    host_release_image(handle);
    host_release_image(nullptr); // ignored
}

TEST(HostImages, JobReadImageReturnsAnUprightCopyTheStageOwns) {
    Fixture f;
    // A 16-bit PNG keeps its depth.
    cv::Mat deep(4, 6, CV_16UC3, cv::Scalar(1000, 2000, 60000));
    test::write_bytes(f.dir / "deep.png", test::encode_image(".png", deep));
    cv::Mat read = f.job.read_image((f.dir / "deep.png").string());
    EXPECT_EQ(read.type(), CV_16UC3);
    EXPECT_EQ(read.at<cv::Vec3w>(3, 5), cv::Vec3w(1000, 2000, 60000));
    EXPECT_TRUE(read.isContinuous());

    // A JPEG stored sideways with EXIF orientation 6 comes back turned upright, as inputs do.
    cv::Mat sideways(40, 80, CV_8UC3, cv::Scalar(0, 0, 0));
    sideways(cv::Rect(0, 0, 40, 40)).setTo(cv::Scalar(255, 255, 255)); // left half white
    const std::vector<uint8_t> jpeg = test::edit_metadata(test::encode_image(".jpg", sideways), [](Exiv2::Image &image) {
        Exiv2::ExifData exif;
        exif["Exif.Image.Orientation"] = static_cast<uint16_t>(6);
        image.setExifData(exif);
    });
    test::write_bytes(f.dir / "turned.jpg", jpeg);
    read = f.job.read_image((f.dir / "turned.jpg").string());
    ASSERT_EQ(read.size(), cv::Size(40, 80));
    // Orientation 6: turned 90 degrees clockwise, so the stored left half is now the top.
    EXPECT_GT(read.at<cv::Vec3b>(10, 20)[0], 200);
    EXPECT_LT(read.at<cv::Vec3b>(70, 20)[0], 50);
}

TEST(HostImages, FailuresNameTheFile) {
    Fixture f;
    test::write_text(f.dir / "fake.png", "not an image\n");
    for (const fs::path &path : {f.dir / "fake.png", f.dir / "missing.png"}) {
        bp_image view{};
        void *handle = nullptr;
        bp_error err{};
        EXPECT_EQ(host_read_image(f.ctx.handle(), path.c_str(), &view, &handle, &err), BP_ERROR);
        EXPECT_EQ(handle, nullptr);
        EXPECT_NE(std::string(err.message).find(path.string()), std::string::npos) << err.message;
        EXPECT_THROW(f.job.read_image(path.string()), std::runtime_error);
    }
}

TEST(HostImages, AHostOlderThanApi12IsTold) {
    Fixture f;
    bp_host_api old = *JobContext::host_api();
    old.struct_size = offsetof(bp_host_api, read_image); // an API 1.1 table
    Job job(&old, f.ctx.handle());
    try {
        job.read_image((f.dir / "any.png").string());
        ADD_FAILURE() << "no error";
    } catch (const std::runtime_error &e) {
        EXPECT_NE(std::string(e.what()).find("API 1.2"), std::string::npos) << e.what();
    }
}
