#include "engine/utf8_text.hpp"

#include <gtest/gtest.h>

using namespace batchproc;

TEST(Utf8Text, ValidityFollowsRfc3629) {
    EXPECT_TRUE(is_valid_utf8(""));
    EXPECT_TRUE(is_valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xb7"));
    EXPECT_FALSE(is_valid_utf8("caf\xe9.jpg"));         // Latin-1
    EXPECT_FALSE(is_valid_utf8("\xc3"));                // cut
    EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));            // overlong '/'
    EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));        // surrogate
    EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));    // above U+10FFFF
}

TEST(Utf8Text, InvalidBytesAreEscapedAndValidTextUnchanged) {
    EXPECT_EQ(escape_invalid_utf8("caf\xe9.jpg"), "caf\\xe9.jpg");
    EXPECT_EQ(escape_invalid_utf8("caf\xc3\xa9.jpg"), "caf\xc3\xa9.jpg");
    EXPECT_EQ(escape_invalid_utf8("a\xc3"), "a\\xc3");
    EXPECT_TRUE(is_valid_utf8(escape_invalid_utf8("\xff\xfe\x80 ok")));
}

TEST(Utf8Text, CutsLandOnCharacterBoundaries) {
    const std::string text = "ab\xc3\xa9" "cd\xe2\x82\xac"; // a b é c d €
    EXPECT_EQ(cut_utf8(text, 100), text);
    EXPECT_EQ(cut_utf8(text, 3), "ab");            // inside é
    EXPECT_EQ(cut_utf8(text, 4), "ab\xc3\xa9");
    EXPECT_EQ(cut_utf8(text, 7), "ab\xc3\xa9" "cd"); // inside €
    EXPECT_EQ(cut_utf8(text, 8), "ab\xc3\xa9" "cd");
    for (size_t n = 0; n <= text.size(); ++n) EXPECT_TRUE(is_valid_utf8(cut_utf8(text, n))) << n;
}

TEST(Utf8Text, Base64RoundTripsAnyBytes) {
    EXPECT_EQ(base64(""), "");
    EXPECT_EQ(base64("f"), "Zg==");
    EXPECT_EQ(base64("fo"), "Zm8=");
    EXPECT_EQ(base64("foo"), "Zm9v");
    EXPECT_EQ(base64("caf\xe9.jpg"), "Y2Fm6S5qcGc=");
    std::string all;
    for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
    for (size_t n = 0; n < 8; ++n) EXPECT_EQ(base64_decode(base64(all.substr(n))), all.substr(n));
    EXPECT_EQ(base64_decode("Zg="), "");
    EXPECT_EQ(base64_decode("Z!=="), "");
}

TEST(Utf8Text, JsonWithInvalidStringsAndKeysDumps) {
    nlohmann::ordered_json j = {{"name", "caf\xe9"}, {"list", {"ok", "\xff"}}};
    j["k\xe9y"] = 1;
    EXPECT_THROW(static_cast<void>(j.dump()), nlohmann::json::type_error);
    make_json_text_valid(j);
    const std::string text = j.dump();
    EXPECT_NE(text.find("caf\\\\xe9"), std::string::npos) << text;
    EXPECT_NE(text.find("k\\\\xe9y"), std::string::npos) << text;
    EXPECT_NE(text.find("\\\\xff"), std::string::npos) << text;
}
