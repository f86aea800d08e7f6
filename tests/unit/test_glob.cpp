#include "inputs/glob.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>

using batchproc::glob_match;
using batchproc::glob_match_entry;

TEST(Glob, StarMatchesAnyRunWithinName) {
    EXPECT_TRUE(glob_match("*.jpg", "a.jpg"));
    EXPECT_TRUE(glob_match("*.jpg", ".jpg"));
    EXPECT_TRUE(glob_match("*", ""));
    EXPECT_TRUE(glob_match("*", "anything at all"));
    EXPECT_TRUE(glob_match("a*b*c", "abc"));
    EXPECT_TRUE(glob_match("a*b*c", "aXXbYYc"));
    EXPECT_FALSE(glob_match("*.jpg", "a.jpeg"));
    EXPECT_FALSE(glob_match("*.jpg", "a.jpg.bak"));
    EXPECT_FALSE(glob_match("a*b*c", "aXXbYY"));
}

TEST(Glob, EmptyPatternMatchesOnlyEmptyText) {
    EXPECT_TRUE(glob_match("", ""));
    EXPECT_FALSE(glob_match("", "a"));
    EXPECT_FALSE(glob_match("a", ""));
}

TEST(Glob, IgnoresAsciiCase) {
    EXPECT_TRUE(glob_match("*.jpg", "PHOTO.JPG"));
    EXPECT_TRUE(glob_match("IMG_*.Jpg", "img_0001.jPG"));
    EXPECT_TRUE(glob_match("ABC", "abc"));
    EXPECT_FALSE(glob_match("ABD", "abc"));
}

TEST(Glob, NonAsciiBytesCompareAsIs) {
    EXPECT_TRUE(glob_match("été*", "été 2024"));
    EXPECT_FALSE(glob_match("ÉTÉ*", "été 2024")); // no Unicode case folding
    EXPECT_TRUE(glob_match("*ô*", "phôto 1.JPG"));
}

TEST(Glob, QuestionMarkIsOneCodePoint) {
    EXPECT_TRUE(glob_match("?.jpg", "a.jpg"));
    EXPECT_TRUE(glob_match("?.jpg", "é.jpg"));  // two bytes, one character
    EXPECT_TRUE(glob_match("?.jpg", "😀.jpg")); // four bytes
    EXPECT_FALSE(glob_match("??.jpg", "é.jpg"));
    EXPECT_FALSE(glob_match("?.jpg", "ab.jpg"));
    EXPECT_FALSE(glob_match("?.jpg", ".jpg"));
    EXPECT_TRUE(glob_match("ph?to", "phôto"));
}

TEST(Glob, InvalidUtf8BytesAreSingleCharacters) {
    EXPECT_TRUE(glob_match("?", "\xff"));
    EXPECT_FALSE(glob_match("?", "\xff\xfe"));
    EXPECT_TRUE(glob_match("\xff*", "\xff" "abc"));
    EXPECT_TRUE(glob_match("a?c", "a\xc3" "c")); // truncated sequence: one byte, one character
}

TEST(Glob, ClassesRangesAndNegation) {
    EXPECT_TRUE(glob_match("[abc].png", "b.png"));
    EXPECT_TRUE(glob_match("[abc].png", "B.PNG"));
    EXPECT_FALSE(glob_match("[abc].png", "d.png"));
    EXPECT_TRUE(glob_match("img[0-9][0-9]", "img42"));
    EXPECT_FALSE(glob_match("img[0-9][0-9]", "img4x"));
    EXPECT_TRUE(glob_match("[a-c]x", "Cx"));
    EXPECT_TRUE(glob_match("[A-C]x", "cx"));
    EXPECT_FALSE(glob_match("[a-c]x", "dx"));
    EXPECT_TRUE(glob_match("[!a]*", "pear"));
    EXPECT_FALSE(glob_match("[!a]*", "apple"));
    EXPECT_FALSE(glob_match("[!a]*", "Apple")); // negation is case-insensitive too
    EXPECT_TRUE(glob_match("[^a]*", "pear"));
    EXPECT_FALSE(glob_match("[^a]*", "apple"));
    EXPECT_TRUE(glob_match("[]]", "]"));
    EXPECT_TRUE(glob_match("[!]]", "x"));
    EXPECT_FALSE(glob_match("[!]]", "]"));
    EXPECT_TRUE(glob_match("[a-]", "-"));
    EXPECT_TRUE(glob_match("[*]", "*"));
    EXPECT_FALSE(glob_match("[*]", "x"));
    EXPECT_FALSE(glob_match("[z-a]", "m")); // reversed range: empty
}

TEST(Glob, ClassesHoldCodePoints) {
    EXPECT_TRUE(glob_match("[éè]x", "èx"));
    EXPECT_FALSE(glob_match("[éè]x", "ex"));
    EXPECT_TRUE(glob_match("[à-ï]", "é"));
    EXPECT_FALSE(glob_match("[!é]", "é"));
    EXPECT_TRUE(glob_match("[!é]", "e"));
}

TEST(Glob, UnclosedBracketIsLiteral) {
    EXPECT_TRUE(glob_match("[abc", "[abc"));
    EXPECT_FALSE(glob_match("[abc", "a"));
    EXPECT_TRUE(glob_match("x[*", "x[yz"));
}

TEST(Glob, WildcardsNeverCrossSlash) {
    EXPECT_FALSE(glob_match("*.jpg", "a/b.jpg"));
    EXPECT_FALSE(glob_match("a?b", "a/b"));
    EXPECT_FALSE(glob_match("a[!x]b", "a/b"));
    EXPECT_TRUE(glob_match("*/*.jpg", "a/b.jpg"));
    EXPECT_FALSE(glob_match("*/*.jpg", "a/b/c.jpg"));
    EXPECT_TRUE(glob_match("*/*/*.jpg", "a/b/c.jpg"));
    EXPECT_FALSE(glob_match("a/*", "a/b/c"));
    EXPECT_FALSE(glob_match("*a*/c", "a/a/c"));
}

TEST(Glob, EntryRuleNameOrRelativePath) {
    EXPECT_TRUE(glob_match_entry("*.jpg", "x.jpg"));
    EXPECT_TRUE(glob_match_entry("*.jpg", "sub/deep/x.jpg")); // no '/': the name alone
    EXPECT_TRUE(glob_match_entry("sub/*.JPG", "sub/x.jpg"));
    EXPECT_FALSE(glob_match_entry("sub/*.jpg", "x.jpg"));
    EXPECT_FALSE(glob_match_entry("sub/*.jpg", "deep/sub/x.jpg")); // anchored at the root
    EXPECT_FALSE(glob_match_entry("sub/*.jpg", "sub/deep/x.jpg"));
    EXPECT_TRUE(glob_match_entry("sub", "a/b/sub"));
}

TEST(Glob, PathologicalPatternFinishesQuickly) {
    const std::string text(100000, 'a');
    const auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(glob_match("*a*a*a*a*a*a*a*a*a*a*a*a*b", text));
    EXPECT_TRUE(glob_match("*a*a*a*a*a*a*a*a*a*a*a*a*", text));
    EXPECT_FALSE(glob_match("*?*?*?*?*?*?*?*?*?*?*?*?b", text));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_LT(seconds, 2.0);
}

// A plain backtracking matcher (exponential, fine on tiny inputs) to check the fast one.
static bool reference_match(const std::string &p, size_t pi, const std::string &s, size_t si) {
    if (pi == p.size()) return si == s.size();
    const char c = p[pi];
    if (c == '*') {
        for (size_t k = si; k <= s.size(); ++k) {
            if (reference_match(p, pi + 1, s, k)) return true;
            if (k < s.size() && s[k] == '/') break;
        }
        return false;
    }
    if (si == s.size()) return false;
    if (c == '?') return s[si] != '/' && reference_match(p, pi + 1, s, si + 1);
    if (c == '[') { // the generator only writes [ab] and [!a]
        const bool neg = p[pi + 1] == '!';
        const bool hit = neg ? (s[si] != 'a' && s[si] != '/') : (s[si] == 'a' || s[si] == 'b');
        return hit && reference_match(p, pi + 4, s, si + 1);
    }
    return c == s[si] && reference_match(p, pi + 1, s, si + 1);
}

TEST(Glob, AgreesWithBacktrackingReference) {
    std::mt19937 rng(12345);
    const char *atoms[] = {"*", "?", "a", "b", "/", "[ab]", "[!a]", "**"};
    int mismatches = 0, positives = 0;
    for (int round = 0; round < 20000; ++round) {
        std::string p, s;
        const int plen = static_cast<int>(rng() % 6);
        for (int k = 0; k < plen; ++k) p += atoms[rng() % 8];
        const int slen = static_cast<int>(rng() % 8);
        for (int k = 0; k < slen; ++k) s += "ab/c"[rng() % 4];
        const bool expected = reference_match(p, 0, s, 0);
        positives += expected ? 1 : 0;
        if (glob_match(p, s) != expected) {
            ++mismatches;
            ADD_FAILURE() << "pattern \"" << p << "\" text \"" << s << "\" expected " << expected;
            if (mismatches > 5) break;
        }
    }
    EXPECT_GT(positives, 500); // the generator does produce matches, so both outcomes are tested
}
