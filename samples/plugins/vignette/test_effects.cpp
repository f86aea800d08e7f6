// Unit tests of this plugin's stages with batchproc::testing: each stage runs on an image
// through batchproc's own host code (parameter checks included), as it would in a run.
// Any test framework will do; this one uses none. Run: ctest --test-dir build
//
//   test_effects PATH_TO_my_effects.so
#include <batchproc/testing.hpp>

#include <cstdio>
#include <string>

namespace {

int failures = 0;

void check(bool ok, const char *what) {
    if (!ok) {
        std::fprintf(stderr, "FAILED: %s\n", what);
        ++failures;
    }
}

} // namespace

int main(int argc, char **argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: test_effects PATH_TO_my_effects.so\n");
        return 2;
    }
    const std::string plugin = argv[1];
    using batchproc::testing::run_stage;
    const cv::Mat grey(60, 80, CV_8UC3, cv::Scalar(128, 128, 128));

    // vignette darkens the corners and leaves the centre.
    const auto v = run_stage("vignette", "{strength: 1.0, radius: 0.3}", grey, plugin);
    check(v.error.empty(), "vignette succeeds");
    check(v.image.size() == grey.size() && v.image.type() == grey.type(), "vignette keeps the size and type");
    if (!v.image.empty()) {
        check(v.image.at<cv::Vec3b>(0, 0)[0] < 40, "vignette darkens a corner");
        check(v.image.at<cv::Vec3b>(30, 40)[0] == 128, "vignette leaves the centre");
    }

    // sepia turns grey into a warm tone: more red than blue (BGR order).
    const auto s = run_stage("sepia", "{amount: 1}", grey, plugin);
    check(s.error.empty(), "sepia succeeds");
    if (!s.image.empty()) check(s.image.at<cv::Vec3b>(0, 0)[2] > s.image.at<cv::Vec3b>(0, 0)[0], "sepia is warm");

    // Parameters the stage refuses are a config error, as `batchproc validate` reports it.
    try {
        run_stage("vignette", "{radius: 1}", grey, plugin);
        check(false, "vignette refuses radius 1");
    } catch (const batchproc::testing::ParamError &e) {
        check(e.message().find("radius") != std::string::npos, "the refusal names radius");
    }

    if (failures == 0) std::printf("test_effects: all checks passed\n");
    return failures == 0 ? 0 : 1;
}
