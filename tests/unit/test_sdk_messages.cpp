// The SDK's error buffer: a sentence too long for it keeps its start and its cause.
#include <batchproc/plugin.hpp>

#include <gtest/gtest.h>

#include <string>

namespace {

bool valid_utf8(const std::string &s) {
    for (size_t i = 0; i < s.size();) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        const size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (n == 0 || i + n > s.size()) return false;
        for (size_t k = 1; k < n; ++k)
            if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
        i += n;
    }
    return true;
}

} // namespace

TEST(SdkMessages, ALongSentenceKeepsItsStartAndItsCauseAndWholeCharacters) {
    std::string path = "/data";
    while (path.size() < 1500) path += "/dossier-été-写真";
    const std::string text = "cannot open " + path + "/photo.jpg: No such file or directory";
    bp_error err{};
    batchproc::detail::copy_message(&err, text.c_str());
    const std::string got = err.message;
    EXPECT_LE(got.size(), sizeof err.message - 1);
    EXPECT_GT(got.size(), sizeof err.message - 10) << "the buffer is used";
    EXPECT_EQ(got.rfind("cannot open /data/dossier", 0), 0u) << got;
    EXPECT_NE(got.find(" ... "), std::string::npos) << got;
    const std::string cause = "/photo.jpg: No such file or directory";
    EXPECT_EQ(got.substr(got.size() - cause.size()), cause) << got;
    EXPECT_TRUE(valid_utf8(got)) << got;

    bp_error small{};
    batchproc::detail::copy_message(&small, "short");
    EXPECT_STREQ(small.message, "short");
}
