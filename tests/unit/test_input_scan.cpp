#include "inputs/image_formats.hpp"
#include "inputs/input_scan.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <random>
#include <set>

namespace fs = std::filesystem;
using batchproc::ConfigError;
using batchproc::InputFile;
using batchproc::InputSpec;
using batchproc::scan_inputs;

namespace {

// A fresh folder under the system temp dir, removed at the end of the test.
class InputScan : public ::testing::Test {
protected:
    void SetUp() override {
        std::random_device rd;
        dir_ = fs::temp_directory_path() /
               ("bp_input_scan_" + std::to_string(::getpid()) + "_" + std::to_string(rd()));
        fs::create_directories(dir_);
        root_ = dir_ / "root";
        //  root/
        //    a.jpg  b.PNG  Z.JPEG  notes.txt  .hidden.jpg  .git/x.jpg
        //    sub/c.jpg  sub/deep/d.tif  sub/alias.jpg -> ../a.jpg  sub/loop -> ..
        //    été 2024/phôto 1.JPG
        //    broken.jpg -> nowhere.jpg
        for (const char *f : {"a.jpg", "b.PNG", "Z.JPEG", "notes.txt", ".hidden.jpg", ".git/x.jpg", "sub/c.jpg",
                              "sub/deep/d.tif", "été 2024/phôto 1.JPG"})
            touch(root_ / f);
        fs::create_symlink("../a.jpg", root_ / "sub/alias.jpg");
        fs::create_directory_symlink("..", root_ / "sub/loop");
        fs::create_symlink("nowhere.jpg", root_ / "broken.jpg");
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }

    static void touch(const fs::path &p) {
        fs::create_directories(p.parent_path());
        std::ofstream(p) << "x";
    }

    InputSpec spec_for(std::vector<fs::path> paths) const {
        InputSpec spec;
        spec.paths = std::move(paths);
        spec.mark = {"cfg.yaml", 3, 1};
        return spec;
    }

    // "rel_dir/name" for each file, the order kept.
    static std::vector<std::string> rel_paths(const std::vector<InputFile> &files) {
        std::vector<std::string> out;
        for (const InputFile &f : files) {
            const std::string name = f.path.filename().string();
            out.push_back(f.rel_dir.empty() ? name : f.rel_dir + "/" + name);
        }
        return out;
    }

    fs::path dir_, root_;
};

using Paths = std::vector<std::string>;

TEST_F(InputScan, DefaultWalkIsRecursiveSortedAndSkipsHiddenLoopsAndBrokenLinks) {
    const auto files = scan_inputs(spec_for({root_}));
    // Byte order: 'Z' < 'a' < 's' < 0xC3 ('é'). alias.jpg is a.jpg again (dropped); loop leads
    // back to root (walked once); broken.jpg, .hidden.jpg, .git/ and notes.txt are not taken.
    EXPECT_EQ(rel_paths(files), (Paths{"Z.JPEG", "a.jpg", "b.PNG", "sub/c.jpg", "sub/deep/d.tif",
                                       "été 2024/phôto 1.JPG"}));
    for (const InputFile &f : files) {
        EXPECT_TRUE(f.path.is_absolute());
        EXPECT_EQ(f.root, root_);
        EXPECT_TRUE(fs::is_regular_file(f.path)) << f.path;
    }
    EXPECT_EQ(files[3].path, root_ / "sub" / "c.jpg");
    EXPECT_EQ(files[3].rel_dir, "sub");
    EXPECT_EQ(files[4].rel_dir, "sub/deep");
    EXPECT_EQ(files[0].rel_dir, "");
}

TEST_F(InputScan, LoopTerminatesWithEachFileOnce) {
    fs::create_directory_symlink("../..", root_ / "sub/deep/up2"); // a second, longer loop
    const auto start = std::chrono::steady_clock::now();
    const auto files = scan_inputs(spec_for({root_}));
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5.0);
    std::set<std::string> unique;
    for (const InputFile &f : files) unique.insert(fs::canonical(f.path).string());
    EXPECT_EQ(unique.size(), files.size());
    EXPECT_EQ(files.size(), 6u);
}

TEST_F(InputScan, NonRecursiveTakesTopLevelOnly) {
    InputSpec spec = spec_for({root_});
    spec.recursive = false;
    EXPECT_EQ(rel_paths(scan_inputs(spec)), (Paths{"Z.JPEG", "a.jpg", "b.PNG"}));
}

TEST_F(InputScan, LowercaseIncludeMatchesUppercaseExtensions) {
    InputSpec spec = spec_for({root_});
    spec.include = {"*.jpg"};
    EXPECT_EQ(rel_paths(scan_inputs(spec)), (Paths{"a.jpg", "sub/c.jpg", "été 2024/phôto 1.JPG"}));
}

TEST_F(InputScan, IncludeReplacesTheDefaultFormats) {
    InputSpec spec = spec_for({root_});
    spec.include = {"*.txt", "*.tif"};
    EXPECT_EQ(rel_paths(scan_inputs(spec)), (Paths{"notes.txt", "sub/deep/d.tif"}));
}

TEST_F(InputScan, IncludeWithSlashMatchesRelativePath) {
    InputSpec spec = spec_for({root_});
    spec.include = {"sub/*.jpg"};
    // alias.jpg is kept here: the a.jpg it points to is not selected, so it is no duplicate.
    EXPECT_EQ(rel_paths(scan_inputs(spec)), (Paths{"sub/alias.jpg", "sub/c.jpg"}));
}

TEST_F(InputScan, ExcludeRemovesFilesAndPrunesFolders) {
    InputSpec spec = spec_for({root_});
    spec.exclude = {"*.png", "deep"};
    EXPECT_EQ(rel_paths(scan_inputs(spec)), (Paths{"Z.JPEG", "a.jpg", "sub/c.jpg", "été 2024/phôto 1.JPG"}));

    spec.exclude = {"sub/*"};
    EXPECT_EQ(rel_paths(scan_inputs(spec)), (Paths{"Z.JPEG", "a.jpg", "b.PNG", "été 2024/phôto 1.JPG"}));

    spec.exclude = {"été*"};
    EXPECT_EQ(rel_paths(scan_inputs(spec)), (Paths{"Z.JPEG", "a.jpg", "b.PNG", "sub/c.jpg", "sub/deep/d.tif"}));
}

TEST_F(InputScan, FileNamedDirectlyIsAlwaysTaken) {
    InputSpec spec = spec_for({root_ / "notes.txt", root_ / "été 2024" / "phôto 1.JPG"});
    spec.exclude = {"*"};
    const auto files = scan_inputs(spec);
    ASSERT_EQ(files.size(), 2u);
    EXPECT_EQ(files[0].path, root_ / "notes.txt");
    EXPECT_EQ(files[0].root, root_ / "notes.txt");
    EXPECT_EQ(files[0].rel_dir, "");
    EXPECT_EQ(files[1].path.filename().string(), "phôto 1.JPG");
}

TEST_F(InputScan, RootsKeepTheirOrderAndDuplicatesAreKeptOnce) {
    fs::remove(root_ / "sub" / "loop"); // else sub/loop would reach root's files first
    const auto files = scan_inputs(spec_for({root_ / "sub", root_ / "a.jpg", root_}));
    EXPECT_EQ(rel_paths(files), (Paths{"alias.jpg", "c.jpg", "deep/d.tif", // sub: alias.jpg stands for a.jpg
                                       "Z.JPEG", "b.PNG", "été 2024/phôto 1.JPG"}));
    EXPECT_EQ(files[0].root, root_ / "sub");
    EXPECT_EQ(files[0].path, root_ / "sub" / "alias.jpg");
    EXPECT_EQ(files[3].root, root_);
    // The same folder twice, once with a trailing slash, adds nothing.
    EXPECT_EQ(scan_inputs(spec_for({root_, fs::path(root_.string() + "/")})).size(), 6u);
}

TEST_F(InputScan, OrderIsStableAcrossRuns) {
    for (int i = 0; i < 20; ++i) touch(root_ / "many" / ("f" + std::to_string((i * 7) % 20) + ".png"));
    const auto first = rel_paths(scan_inputs(spec_for({root_})));
    EXPECT_EQ(first, rel_paths(scan_inputs(spec_for({root_}))));
    EXPECT_TRUE(std::is_sorted(first.begin(), first.end()));
    EXPECT_EQ(first.size(), 26u);
}

TEST_F(InputScan, SymlinkedFolderOutsideTheRootIsFollowed) {
    touch(dir_ / "elsewhere" / "far.jpg");
    fs::create_directory_symlink(dir_ / "elsewhere", root_ / "sub" / "link");
    const auto paths = rel_paths(scan_inputs(spec_for({root_})));
    EXPECT_NE(std::find(paths.begin(), paths.end(), "sub/link/far.jpg"), paths.end());
}

TEST_F(InputScan, MissingPathIsAConfigError) {
    InputSpec spec = spec_for({root_, root_ / "no such folder"});
    try {
        scan_inputs(spec);
        FAIL() << "expected ConfigError";
    } catch (const ConfigError &e) {
        EXPECT_EQ(e.key(), "input.paths[1]");
        EXPECT_EQ(e.mark().line, 3);
        EXPECT_NE(e.message().find("does not exist"), std::string::npos) << e.what();
        EXPECT_NE(e.message().find("no such folder"), std::string::npos) << e.what();
    }
}

TEST_F(InputScan, BrokenSymlinkNamedDirectlyIsAConfigError) {
    try {
        scan_inputs(spec_for({root_ / "broken.jpg"}));
        FAIL() << "expected ConfigError";
    } catch (const ConfigError &e) {
        EXPECT_EQ(e.key(), "input.paths[0]");
        EXPECT_NE(e.message().find("broken symbolic link"), std::string::npos) << e.what();
    }
}

TEST_F(InputScan, UnreadableSubfolderIsSkipped) {
    if (::geteuid() == 0) GTEST_SKIP() << "root reads every folder";
    fs::permissions(root_ / "sub" / "deep", fs::perms::none);
    const auto paths = rel_paths(scan_inputs(spec_for({root_})));
    fs::permissions(root_ / "sub" / "deep", fs::perms::owner_all);
    EXPECT_EQ(paths, (Paths{"Z.JPEG", "a.jpg", "b.PNG", "sub/c.jpg", "été 2024/phôto 1.JPG"}));
}

TEST(ImageFormats, DefaultSetIsLowerCaseWithoutDots) {
    const auto &all = batchproc::readable_extensions();
    EXPECT_EQ(all.size(), 24u);
    for (const std::string &e : all) {
        EXPECT_EQ(e.find('.'), std::string::npos);
        for (char c : e) EXPECT_FALSE(c >= 'A' && c <= 'Z') << e;
    }
    EXPECT_TRUE(batchproc::is_readable_extension(".JPG"));
    EXPECT_TRUE(batchproc::is_readable_extension("exr"));
    EXPECT_FALSE(batchproc::is_readable_extension("gif")); // OpenCV 4.6 does not read GIF
    EXPECT_FALSE(batchproc::is_readable_extension(""));
}

} // namespace
