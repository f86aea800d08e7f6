#include "io/atomic_file.hpp"
#include "support/run_helpers.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>

namespace fs = std::filesystem;
using namespace batchproc;
using batchproc::test::read_text;
using batchproc::test::TempDir;
using batchproc::test::write_text;

namespace {

std::vector<std::string> names_in(const fs::path &dir) {
    std::vector<std::string> names;
    for (const auto &e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

WriteOptions options(bool overwrite = true, bool durable = true, const fs::path &root = {}) {
    WriteOptions o;
    o.overwrite = overwrite;
    o.durable = durable;
    o.root = root;
    return o;
}

} // namespace

TEST(AtomicFile, CreatesFoldersWritesAndLeavesNoTemporaryFile) {
    TempDir dir("bp-atomic");
    const fs::path target = dir / "a/b/out.bin";
    const std::string data = "hello, world";
    write_file_atomically(target, data.data(), data.size(), options());
    EXPECT_EQ(read_text(target), data);
    EXPECT_EQ(names_in(target.parent_path()), std::vector<std::string>{"out.bin"});
    // The same below a root, folders created one by one, and without fsync.
    write_file_atomically(dir / "r/x/y/z.bin", "z", 1, options(true, false, dir / "r"));
    EXPECT_EQ(read_text(dir / "r/x/y/z.bin"), "z");
}

TEST(AtomicFile, OverwriteReplacesAndNoOverwriteRefuses) {
    TempDir dir("bp-atomic");
    const fs::path target = dir / "out.txt";
    write_file_atomically(target, "one", 3, options());
    write_file_atomically(target, "two", 3, options());
    EXPECT_EQ(read_text(target), "two");
    try {
        write_file_atomically(target, "three", 5, options(false));
        FAIL() << "expected an error";
    } catch (const std::runtime_error &e) {
        EXPECT_NE(std::string(e.what()).find("exists"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find(target.string()), std::string::npos) << e.what();
    }
    EXPECT_EQ(read_text(target), "two");
    EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"out.txt"});
}

TEST(AtomicFile, AFailedWriteLeavesNeitherTheFinalNameNorATemporaryFile) {
    TempDir dir("bp-atomic");
    // The final name is an existing folder: the rename fails after the data was written.
    const fs::path target = dir / "taken";
    fs::create_directories(target / "inside");
    EXPECT_THROW(write_file_atomically(target, "x", 1, options()), std::runtime_error);
    EXPECT_TRUE(fs::is_directory(target));
    EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"taken"});
}

// The temporary name was once ".NAME.bp-tmp-PID", opened with O_CREAT|O_TRUNC: a link planted
// there truncated its target. Now the name is random and opened with O_EXCL|O_NOFOLLOW.
TEST(AtomicFile, ALinkPlantedAtTheOldPredictableTemporaryNameIsNeverFollowed) {
    TempDir dir("bp-atomic");
    const fs::path victim = dir / "precious.txt";
    write_text(victim, "do not touch");
    fs::create_directories(dir / "out");
    fs::create_symlink(victim, dir / "out" / (".photo.jpg.bp-tmp-" + std::to_string(::getpid())));
    write_file_atomically(dir / "out/photo.jpg", "new", 3, options(true, true, dir / "out"));
    EXPECT_EQ(read_text(victim), "do not touch");
    EXPECT_EQ(read_text(dir / "out/photo.jpg"), "new");
}

TEST(AtomicFile, TemporaryNamesAreHiddenRandomAndRecognised) {
    EXPECT_TRUE(is_temp_file_name(".photo.jpg.bp-tmp-42-0123456789abcdef"));
    EXPECT_FALSE(is_temp_file_name("photo.jpg"));
    EXPECT_FALSE(is_temp_file_name("photo.bp-tmp-.jpg")); // not hidden: a user's own file
}

TEST(AtomicFile, ALinkedFolderBelowTheRootIsRefusedAndItsTargetUntouched) {
    TempDir dir("bp-atomic");
    fs::create_directories(dir / "root");
    fs::create_directories(dir / "elsewhere");
    fs::create_directory_symlink(dir / "elsewhere", dir / "root/sub");
    try {
        write_file_atomically(dir / "root/sub/a.jpg", "x", 1, options(true, true, dir / "root"));
        FAIL() << "expected an error";
    } catch (const std::runtime_error &e) {
        EXPECT_NE(std::string(e.what()).find("symbolic link"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find((dir / "root/sub").string()), std::string::npos) << e.what();
    }
    EXPECT_TRUE(fs::is_empty(dir / "elsewhere"));
    // Outside the root at all: refused before anything is opened.
    EXPECT_THROW(write_file_atomically(dir / "other/a.jpg", "x", 1, options(true, true, dir / "root")),
                 std::runtime_error);
    EXPECT_FALSE(fs::exists(dir / "other"));
}

TEST(AtomicFile, TheRootItselfMayBeALink) {
    TempDir dir("bp-atomic");
    fs::create_directories(dir / "real");
    fs::create_directory_symlink(dir / "real", dir / "link");
    write_file_atomically(dir / "link/s/a.txt", "x", 1, options(true, true, dir / "link"));
    EXPECT_EQ(read_text(dir / "real/s/a.txt"), "x");
}

TEST(AtomicFile, StaleTemporaryFilesOfDeadProcessesAreRemovedAndLiveOnesKept) {
    TempDir dir("bp-atomic");
    // pid_max is at most 2^22: this pid cannot exist.
    write_text(dir / ".a.jpg.bp-tmp-99999999-00000000000000aa", "left by a killed run");
    const std::string live = ".b.jpg.bp-tmp-" + std::to_string(::getpid()) + "-00000000000000bb";
    write_text(dir / live, "being written by a live process");
    write_text(dir / "c.jpg", "an output");
    EXPECT_EQ(remove_stale_temp_files(dir.path()), 1u);
    EXPECT_EQ(names_in(dir.path()), (std::vector<std::string>{live, "c.jpg"}));
    EXPECT_EQ(remove_stale_temp_files(dir / "no-such-folder"), 0u);
}

TEST(AtomicFile, RemoveTempFilesOfRemovesOnlyThatProcessesFilesForThatOutput) {
    TempDir dir("bp-atomic");
    write_text(dir / ".a.jpg.bp-tmp-42-00000000000000aa", "dead worker's");
    write_text(dir / ".a.jpg.bp-tmp-43-00000000000000bb", "another worker's");
    write_text(dir / ".b.jpg.bp-tmp-42-00000000000000cc", "another output's");
    write_text(dir / "a.jpg", "final");
    remove_temp_files_of(dir / "a.jpg", 42);
    EXPECT_EQ(names_in(dir.path()), (std::vector<std::string>{".a.jpg.bp-tmp-43-00000000000000bb",
                                                              ".b.jpg.bp-tmp-42-00000000000000cc", "a.jpg"}));
}
