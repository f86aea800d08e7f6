// Shards: parsing --shard (and Slurm's and Kubernetes' variables), the stable hash of job
// keys, shard file names and finding them.
#include "engine/shards.hpp"
#include "support/run_helpers.hpp"

#include <gtest/gtest.h>

#include <set>

#include <xxhash.h>

using namespace batchproc;
namespace fs = std::filesystem;

namespace {

ShardSpec parse(const std::string &text, std::optional<int> shards = std::nullopt,
                const std::map<std::string, std::string> &env = {}) {
    return parse_shard(text, shards, env);
}

std::string error_of(const std::string &text, std::optional<int> shards = std::nullopt,
                     const std::map<std::string, std::string> &env = {}) {
    try {
        parse_shard(text, shards, env);
    } catch (const ShardError &e) {
        return e.what();
    }
    return "";
}

} // namespace

TEST(Shards, ExplicitShardsAreIOfNFromZero) {
    EXPECT_EQ(parse("0/4").index, 0);
    EXPECT_EQ(parse("3/4").index, 3);
    EXPECT_EQ(parse("3/4").count, 4);
    EXPECT_FALSE(parse("0/1").sharded());
    EXPECT_NE(error_of("4/4").find("numbered from 0 to 3"), std::string::npos);
    for (const char *bad : {"", "4", "a/4", "1/0", "-1/4", "1/4/2", "1/10000", " 1/4"})
        EXPECT_NE(error_of(bad).find("expected I/N"), std::string::npos) << bad;
    EXPECT_NE(error_of("1/4", 4).find("--shards goes with --shard auto"), std::string::npos);
}

TEST(Shards, AutoReadsASlurmArrayFromItsFirstIndex) {
    // --array=1-8: task ids 1..8 are shards 0..7 of 8.
    const std::map<std::string, std::string> env{
        {"SLURM_ARRAY_TASK_ID", "3"}, {"SLURM_ARRAY_TASK_COUNT", "8"}, {"SLURM_ARRAY_TASK_MIN", "1"}};
    const ShardSpec s = parse("auto", std::nullopt, env);
    EXPECT_EQ(s.index, 2);
    EXPECT_EQ(s.count, 8);
    EXPECT_EQ(parse("auto", std::nullopt, {{"SLURM_ARRAY_TASK_ID", "0"}, {"SLURM_ARRAY_TASK_COUNT", "2"}}).index, 0);
    // A stepped array (--array=0-14:2) does not give contiguous shards.
    const std::string stepped = error_of(
        "auto", std::nullopt, {{"SLURM_ARRAY_TASK_ID", "14"}, {"SLURM_ARRAY_TASK_COUNT", "8"}, {"SLURM_ARRAY_TASK_MIN", "0"}});
    EXPECT_NE(stepped.find("contiguous"), std::string::npos) << stepped;
}

TEST(Shards, AutoReadsAKubernetesIndexedJobWithShards) {
    EXPECT_EQ(parse("auto", 5, {{"JOB_COMPLETION_INDEX", "4"}}).index, 4);
    EXPECT_NE(error_of("auto", std::nullopt, {{"JOB_COMPLETION_INDEX", "1"}}).find("add --shards N"), std::string::npos);
    EXPECT_NE(error_of("auto", 3, {{"JOB_COMPLETION_INDEX", "3"}}).find("not a shard"), std::string::npos);
    EXPECT_NE(error_of("auto").find("no task index in the environment"), std::string::npos);
}

// The same key always lands in the same shard (here and on any machine: XXH3 of its bytes),
// and keys spread over the shards.
TEST(Shards, KeysHashStablyAndEvenly) {
    EXPECT_EQ(shard_of("photos/2024/a.jpg", 16), shard_of(std::string("photos/2024/a.jpg"), 16));
    EXPECT_EQ(shard_of("anything", 1), 0);
    // Pinned values: a change of hash would move every file of a running sharded job.
    EXPECT_EQ(shard_of("a.jpg", 4), static_cast<int>(XXH3_64bits("a.jpg", 5) % 4));
    std::vector<int> counts(8, 0);
    for (int i = 0; i < 8000; ++i) ++counts[size_t(shard_of("dir/photo" + std::to_string(i) + ".jpg", 8))];
    for (int c : counts) EXPECT_NEAR(c, 1000, 150);
}

TEST(Shards, SelectKeepsPlanOrderAndIndexes) {
    std::vector<PlannedJob> jobs;
    for (int i = 0; i < 100; ++i) {
        PlannedJob j;
        j.index = i;
        j.key = "k" + std::to_string(i);
        jobs.push_back(j);
    }
    std::set<int64_t> seen;
    for (int s = 0; s < 3; ++s) {
        const std::vector<PlannedJob> mine = select_shard(jobs, ShardSpec{s, 3});
        for (size_t k = 0; k < mine.size(); ++k) {
            EXPECT_EQ(shard_of(mine[k].key, 3), s);
            if (k > 0) {
                EXPECT_LT(mine[k - 1].index, mine[k].index);
            }
            EXPECT_TRUE(seen.insert(mine[k].index).second) << "job in two shards";
        }
    }
    EXPECT_EQ(seen.size(), 100u) << "every job in exactly one shard";
}

TEST(Shards, ShardFilesAreNamedAndFound) {
    EXPECT_EQ(shard_file("/x/report.json", ShardSpec{3, 16}), fs::path("/x/report.shard-0003-of-0016.json"));
    EXPECT_EQ(shard_file("/x/report.json", ShardSpec{}), fs::path("/x/report.json"));
    EXPECT_EQ(shard_file("/x/.batchproc/journal.sqlite", ShardSpec{0, 2}),
              fs::path("/x/.batchproc/journal.shard-0000-of-0002.sqlite"));
    batchproc::test::TempDir dir("bp-shards");
    for (const char *name : {"journal.shard-0000-of-0002.sqlite", "journal.shard-0001-of-0002.sqlite",
                             "journal.shard-0003-of-0008.sqlite", "journal.shard-0003-of-0008.sqlite-wal",
                             "journal.shard-0009-of-0008.sqlite", "journal.sqlite", "other.shard-0000-of-0002.sqlite"})
        batchproc::test::write_text(dir / name, "");
    const auto found = find_shard_files(dir / "journal.sqlite");
    ASSERT_EQ(found.size(), 2u);
    EXPECT_EQ(found.at(2).size(), 2u);
    EXPECT_EQ(found.at(8).size(), 1u);
    EXPECT_EQ(found.at(8).at(3), dir / "journal.shard-0003-of-0008.sqlite");
}
