// input.list / --files-from: splitting a list, and what each entry becomes.
#include "config/spec.hpp"
#include "inputs/input_list.hpp"
#include "support/run_helpers.hpp"

#include <gtest/gtest.h>

#include <fstream>

namespace fs = std::filesystem;
using namespace batchproc;
using batchproc::test::TempDir;
using Entries = std::vector<std::string>;

TEST(InputList, SplitsOnNewlinesOrNulAndSkipsEmptyEntries) {
    EXPECT_EQ(split_list("a.jpg\nb c.jpg\n", false), (Entries{"a.jpg", "b c.jpg"}));
    EXPECT_EQ(split_list("a.jpg\r\nb.jpg", false), (Entries{"a.jpg", "b.jpg"})) << "CRLF lists and no final newline";
    EXPECT_EQ(split_list("\n\na.jpg\n\n", false), (Entries{"a.jpg"}));
    EXPECT_EQ(split_list(std::string("a\nb.jpg\0c.jpg\0", 15), false), (Entries{"a\nb.jpg", "c.jpg"}))
        << "a NUL byte means a NUL-separated list, whose names may hold newlines";
    EXPECT_EQ(split_list("a.jpg\n", true), (Entries{"a.jpg\n"})) << "-0: newlines are part of names";
    EXPECT_TRUE(split_list("", false).empty());
}

class InputListFiles : public ::testing::Test {
protected:
    TempDir dir{"bp-list"};
    InputSpec spec;

    void SetUp() override {
        for (const char *f : {"photos/a/x.jpg", "photos/b/x.jpg", "photos/c.png"}) {
            fs::create_directories((dir / f).parent_path());
            std::ofstream(dir / f) << f;
        }
        spec.list = dir / "list.txt";
        spec.list_base = dir.path();
    }
    std::vector<InputFile> read(const std::string &list) {
        std::ofstream(spec.list, std::ios::binary) << list;
        return read_input_list(spec);
    }
};

TEST_F(InputListFiles, EntriesKeepTheirFoldersSoSameNamesDoNotCollide) {
    const auto files = read("photos/a/x.jpg\nphotos/b/x.jpg\n./photos/c.png\n");
    ASSERT_EQ(files.size(), 3u);
    EXPECT_EQ(files[0].path, dir / "photos/a/x.jpg");
    EXPECT_EQ(files[0].rel_dir, "photos/a");
    EXPECT_EQ(files[1].rel_dir, "photos/b");
    EXPECT_EQ(files[2].rel_dir, "photos");
    EXPECT_NE(files[0].ino, 0u);
}

TEST_F(InputListFiles, AnEntryOutsideTheBaseKeepsItsAbsoluteFolder) {
    TempDir other("bp-list-other");
    std::ofstream(other / "y.jpg") << "y";
    const auto files = read((other / "y.jpg").string() + "\n");
    ASSERT_EQ(files.size(), 1u);
    EXPECT_EQ(files[0].rel_dir, other.path().relative_path().generic_string());
}

TEST_F(InputListFiles, AFileListedTwiceOrThroughALinkIsTakenOnce) {
    fs::create_hard_link(dir / "photos/c.png", dir / "photos/hard.png");
    fs::create_symlink(dir / "photos/c.png", dir / "photos/soft.png");
    const auto files = read("photos/c.png\nphotos/hard.png\nphotos/soft.png\nphotos/../photos/c.png\nmissing.jpg\nmissing.jpg\n");
    ASSERT_EQ(files.size(), 2u);
    EXPECT_EQ(files[0].path, dir / "photos/c.png");
    EXPECT_EQ(files[1].path, dir / "missing.jpg") << "a missing file is kept, once: its job says what is wrong";
}

TEST_F(InputListFiles, ManyEntriesOfFewFilesGiveThoseFiles) {
    std::string list;
    list.reserve(16'000'000);
    for (int i = 0; i < 200'000; ++i) list += i % 2 ? "photos/a/x.jpg\n" : "photos/b/x.jpg\n";
    EXPECT_EQ(read(list).size(), 2u);
}

TEST_F(InputListFiles, AListThatCannotBeReadIsAConfigErrorNamingIt) {
    spec.list = dir / "no-such-list.txt";
    try {
        read_input_list(spec);
        ADD_FAILURE() << "no error";
    } catch (const ConfigError &e) {
        EXPECT_NE(std::string(e.what()).find("no-such-list.txt"), std::string::npos) << e.what();
    }
}
