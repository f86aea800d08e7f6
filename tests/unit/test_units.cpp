// Durations, sizes and pixel counts as written in configs, and their display forms.
#include "config/units.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

using namespace batchproc;

namespace {

// The message of the invalid_argument a parse throws; "" (and a test failure) when none.
template <typename Parse>
std::string error_of(Parse parse, const std::string &text) {
    try {
        parse(text);
    } catch (const std::invalid_argument &e) {
        return e.what();
    }
    ADD_FAILURE() << "\"" << text << "\" was accepted";
    return "";
}

bool contains(const std::string &text, const std::string &part) { return text.find(part) != std::string::npos; }

} // namespace

TEST(Units, DurationsInEveryAcceptedForm) {
    EXPECT_DOUBLE_EQ(parse_duration("60s"), 60);
    EXPECT_DOUBLE_EQ(parse_duration("500ms"), 0.5);
    EXPECT_DOUBLE_EQ(parse_duration("2m"), 120);
    EXPECT_DOUBLE_EQ(parse_duration("1h"), 3600);
    EXPECT_DOUBLE_EQ(parse_duration("1d"), 86400);
    EXPECT_DOUBLE_EQ(parse_duration("1h30m"), 5400);
    EXPECT_DOUBLE_EQ(parse_duration("1h 30m 15s"), 5415);
    EXPECT_DOUBLE_EQ(parse_duration("1.5"), 1.5);
    EXPECT_DOUBLE_EQ(parse_duration("90"), 90);
    EXPECT_DOUBLE_EQ(parse_duration("0"), 0);
    EXPECT_DOUBLE_EQ(parse_duration("0.25s"), 0.25);
    EXPECT_DOUBLE_EQ(parse_duration(" 10 sec "), 10);
    EXPECT_DOUBLE_EQ(parse_duration("3 minutes"), 180);
    EXPECT_DOUBLE_EQ(parse_duration("2H"), 7200);
}

TEST(Units, BadDurationsSayWhatIsAccepted) {
    const std::string abc = error_of(parse_duration, "abc");
    EXPECT_TRUE(contains(abc, "\"abc\" is not a duration")) << abc;
    EXPECT_TRUE(contains(abc, "\"500ms\"")) << abc;
    EXPECT_TRUE(contains(abc, "0 means none")) << abc;
    EXPECT_TRUE(contains(error_of(parse_duration, "-5s"), "negative"));
    EXPECT_TRUE(contains(error_of(parse_duration, "5 parsecs"), "unknown unit \"parsecs\""));
    EXPECT_TRUE(contains(error_of(parse_duration, "1h30"), "missing its unit"));
    EXPECT_TRUE(contains(error_of(parse_duration, ""), "empty"));
    error_of(parse_duration, "s");
    error_of(parse_duration, "1e3");
    error_of(parse_duration, "1..5s");
    error_of(parse_duration, "ten seconds");
}

TEST(Units, SizesDecimalAndBinary) {
    EXPECT_EQ(parse_size("2GiB"), 2ULL << 30);
    EXPECT_EQ(parse_size("512MiB"), 512ULL << 20);
    EXPECT_EQ(parse_size("1.5GB"), 1'500'000'000ULL);
    EXPECT_EQ(parse_size("100k"), 100'000ULL);
    EXPECT_EQ(parse_size("100K"), 100'000ULL);
    EXPECT_EQ(parse_size("4096"), 4096ULL);
    EXPECT_EQ(parse_size("0"), 0ULL);
    EXPECT_EQ(parse_size("10 B"), 10ULL);
    EXPECT_EQ(parse_size("1Ki"), 1024ULL);
    EXPECT_EQ(parse_size("1.5KiB"), 1536ULL);
    EXPECT_EQ(parse_size("2TB"), 2'000'000'000'000ULL);
    EXPECT_EQ(parse_size("1mb"), 1'000'000ULL);
    EXPECT_EQ(parse_size("18446744073709551615"), 18446744073709551615ULL); // all 64 bits, exactly
}

TEST(Units, BadSizesSayWhatIsAccepted) {
    const std::string lots = error_of(parse_size, "lots");
    EXPECT_TRUE(contains(lots, "\"lots\" is not a size")) << lots;
    EXPECT_TRUE(contains(lots, "GiB")) << lots;
    EXPECT_TRUE(contains(error_of(parse_size, "-1k"), "negative"));
    EXPECT_TRUE(contains(error_of(parse_size, "5 XB"), "unknown unit \"XB\""));
    EXPECT_TRUE(contains(error_of(parse_size, "1.5"), "whole"));
    EXPECT_TRUE(contains(error_of(parse_size, "18446744073709551616"), "too large"));
    EXPECT_TRUE(contains(error_of(parse_size, "20000000TiB"), "too large"));
    error_of(parse_size, "GiB");
    error_of(parse_size, "2 GiB extra");
    error_of(parse_size, "");
}

TEST(Units, PixelCounts) {
    EXPECT_EQ(parse_pixel_count("268435456"), 268'435'456ULL);
    EXPECT_EQ(parse_pixel_count("268M"), 268'000'000ULL);
    EXPECT_EQ(parse_pixel_count("100Mpx"), 100'000'000ULL);
    EXPECT_EQ(parse_pixel_count("100 Mpx"), 100'000'000ULL);
    EXPECT_EQ(parse_pixel_count("0.5k"), 500ULL);
    EXPECT_EQ(parse_pixel_count("2G"), 2'000'000'000ULL);
    EXPECT_EQ(parse_pixel_count("640px"), 640ULL);
    EXPECT_EQ(parse_pixel_count("12m"), 12'000'000ULL);

    const std::string bad = error_of(parse_pixel_count, "huge");
    EXPECT_TRUE(contains(bad, "\"huge\" is not a pixel count")) << bad;
    EXPECT_TRUE(contains(bad, "100Mpx")) << bad;
    EXPECT_TRUE(contains(error_of(parse_pixel_count, "1.5"), "whole"));
    EXPECT_TRUE(contains(error_of(parse_pixel_count, "3MiB"), "unknown unit"));
    EXPECT_TRUE(contains(error_of(parse_pixel_count, "-1M"), "negative"));
}

TEST(Units, DisplayForms) {
    EXPECT_EQ(format_size(512), "512 B");
    EXPECT_EQ(format_size(1536), "1.5 KiB");
    EXPECT_EQ(format_size(2ULL << 30), "2 GiB");
    EXPECT_EQ(format_size(512ULL << 20), "512 MiB");
    EXPECT_EQ(format_pixel_count(268'435'456), "268 Mpx");
    EXPECT_EQ(format_pixel_count(12'500), "12.5 kpx");
    EXPECT_EQ(format_pixel_count(999), "999 px");
    EXPECT_EQ(format_duration(0), "none");
    EXPECT_EQ(format_duration(0.5), "500ms");
    EXPECT_EQ(format_duration(2.5), "2.5s");
    EXPECT_EQ(format_duration(5400), "1h30m");
    EXPECT_EQ(format_duration(90061), "1d1h1m1s");
    // What is displayed reads back as the same value.
    for (double s : {0.5, 2.5, 60.0, 5400.0, 90061.0}) EXPECT_DOUBLE_EQ(parse_duration(format_duration(s)), s);
}
