#include "engine/error_text.hpp"

#include <gtest/gtest.h>

using batchproc::stage_error_text;

TEST(ErrorText, TheStageNameIsPrefixedOnce) {
    EXPECT_EQ(stage_error_text("crop", "the rectangle does not fit"), "crop: the rectangle does not fit");
    EXPECT_EQ(stage_error_text("crop", "crop: the rectangle does not fit"), "crop: the rectangle does not fit");
    EXPECT_EQ(stage_error_text("crop", "crop: crop: twice"), "crop: twice");
    EXPECT_EQ(stage_error_text("save", "saved: not a prefix"), "save: saved: not a prefix");
}

TEST(ErrorText, OpenCvsRawTextBecomesItsGist) {
    EXPECT_EQ(stage_error_text("resize", "OpenCV(4.6.0) ./modules/core/src/alloc.cpp:73: error: (-4:Insufficient memory) "
                                         "Failed to allocate 107374182 bytes in function 'OutOfMemoryError'\n"),
              "resize: out of memory allocating 102 MiB");
    EXPECT_EQ(stage_error_text("resize", "OpenCV(4.6.0) ./modules/imgproc/src/resize.cpp:4052: error: (-215:Assertion "
                                         "failed) !ssize.empty() in function 'resize'\n"),
              "resize: OpenCV: Assertion failed: !ssize.empty() in function 'resize'");
}

TEST(ErrorText, LineBreaksBecomeOneLine) {
    EXPECT_EQ(stage_error_text("fx", "first\nsecond\r\n\nthird\n"), "fx: first; second; third");
}
