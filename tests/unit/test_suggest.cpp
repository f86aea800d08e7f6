// did_you_mean: a suggestion for a near miss, silence for a far one.
#include "config/suggest.hpp"

#include <gtest/gtest.h>

using batchproc::did_you_mean;
using batchproc::edit_distance;

TEST(Suggest, EditDistance) {
    EXPECT_EQ(edit_distance("", ""), 0u);
    EXPECT_EQ(edit_distance("abc", ""), 3u);
    EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
    EXPECT_EQ(edit_distance("workerz", "workers"), 1u);
    EXPECT_EQ(edit_distance("pipline", "pipeline"), 1u);
    EXPECT_EQ(edit_distance("Resize", "resize"), 0u); // case-insensitive
    EXPECT_EQ(edit_distance("ab", "ba"), 1u);      // a swap of neighbours is one edit
    EXPECT_EQ(edit_distance("fsat", "fast"), 1u);
    EXPECT_EQ(edit_distance("abc", "ca"), 3u);     // no swap then edit of the same letters
}

TEST(Suggest, SwappedLettersGetASuggestion) {
    EXPECT_EQ(did_you_mean("gian", {"gain", "gamma"}), " (did you mean \"gain\"?)");
}

TEST(Suggest, NearMissesGetASuggestion) {
    const std::vector<std::string> pool = {"mode", "workers", "start_method", "threads_per_worker", "timeout"};
    EXPECT_EQ(did_you_mean("workerz", pool), " (did you mean \"workers\"?)");
    EXPECT_EQ(did_you_mean("timout", pool), " (did you mean \"timeout\"?)");
    EXPECT_EQ(did_you_mean("start_mthd", pool), " (did you mean \"start_method\"?)");
    EXPECT_EQ(did_you_mean("mod", pool), " (did you mean \"mode\"?)");
}

TEST(Suggest, PrefixesGetASuggestion) {
    EXPECT_EQ(did_you_mean("thresh", {"threshold", "resize"}), " (did you mean \"threshold\"?)");
    EXPECT_EQ(did_you_mean("gauss", {"gaussian_blur", "median_blur"}), " (did you mean \"gaussian_blur\"?)");
}

TEST(Suggest, FarWordsAndEmptyListsGetNothing) {
    EXPECT_EQ(did_you_mean("colour", {"mode", "workers", "timeout"}), "");
    EXPECT_EQ(did_you_mean("blur", {"gaussian_blur"}), "");
    EXPECT_EQ(did_you_mean("anything", {}), "");
    EXPECT_EQ(did_you_mean("ab", {"xy"}), ""); // 2 edits is too many for a 2-letter word
}

TEST(Suggest, TheClosestCandidateWins) {
    EXPECT_EQ(did_you_mean("serail", {"threads", "serial", "processes"}), " (did you mean \"serial\"?)");
    EXPECT_EQ(did_you_mean("proces", {"process_all", "processes"}), " (did you mean \"processes\"?)");
}
