#include "engine/progress.hpp"

#include <gtest/gtest.h>

using batchproc::ProgressReporter;

TEST(Progress, LineShowsCountsRateAndEta) {
    // 50 of 200 in 10 s: 5 files/s, 150 left -> 30 s.
    EXPECT_EQ(ProgressReporter::format_line(50, 200, 3, 10.0), "50/200 done, 3 failed, 5.0 files/s, ETA 0:30");
}

TEST(Progress, EtaIsUnknownBeforeTheFirstJobAndZeroAtTheEnd) {
    EXPECT_EQ(ProgressReporter::format_line(0, 10, 0, 2.0), "0/10 done, 0 failed, 0.0 files/s, ETA --:--");
    EXPECT_EQ(ProgressReporter::format_line(10, 10, 0, 2.0), "10/10 done, 0 failed, 5.0 files/s, ETA 0:00");
}

TEST(Progress, LongEtaHasHours) {
    // 1 file/s with 7322 left: 2:02:02.
    EXPECT_EQ(ProgressReporter::format_line(10, 7332, 0, 10.0), "10/7332 done, 0 failed, 1.0 files/s, ETA 2:02:02");
}
