#include "io/atomic_file.hpp"
#include "support/run_helpers.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

namespace fs = std::filesystem;
using namespace batchproc;
using batchproc::test::TempDir;

TEST(AtomicFile, CreatesFoldersWritesAndLeavesNoTemporaryFile) {
    TempDir dir("bp-atomic");
    const fs::path target = dir / "a/b/out.bin";
    const std::string data = "hello, world";
    write_file_atomically(target, data.data(), data.size(), true);
    EXPECT_EQ(batchproc::test::read_text(target), data);
    for (const auto &e : fs::directory_iterator(target.parent_path()))
        EXPECT_EQ(e.path().filename(), "out.bin") << "unexpected " << e.path();
}

TEST(AtomicFile, OverwriteReplacesAndNoOverwriteRefuses) {
    TempDir dir("bp-atomic");
    const fs::path target = dir / "out.txt";
    write_file_atomically(target, "one", 3, true);
    write_file_atomically(target, "two", 3, true);
    EXPECT_EQ(batchproc::test::read_text(target), "two");
    try {
        write_file_atomically(target, "three", 5, false);
        FAIL() << "expected an error";
    } catch (const std::runtime_error &e) {
        EXPECT_NE(std::string(e.what()).find("exists"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find(target.string()), std::string::npos) << e.what();
    }
    EXPECT_EQ(batchproc::test::read_text(target), "two");
    EXPECT_FALSE(fs::exists(temp_path_for(target, getpid())));
}

TEST(AtomicFile, AFailedWriteLeavesNeitherTheFinalNameNorATemporaryFile) {
    TempDir dir("bp-atomic");
    // The final name is an existing folder: the rename fails after the data was written.
    const fs::path target = dir / "taken";
    fs::create_directories(target / "inside");
    EXPECT_THROW(write_file_atomically(target, "x", 1, true), std::runtime_error);
    EXPECT_TRUE(fs::is_directory(target));
    EXPECT_FALSE(fs::exists(temp_path_for(target, getpid())));
}

TEST(AtomicFile, TemporaryNameIsHiddenBesideTheTargetAndNamesThePid) {
    const fs::path t = temp_path_for("/x/y/photo.jpg", 42);
    EXPECT_EQ(t.parent_path(), fs::path("/x/y"));
    EXPECT_EQ(t.filename().string(), ".photo.jpg.bp-tmp-42");
}
