#include "journal/file_identity.hpp"
#include "support/run_helpers.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <functional>
#include <random>
#include <regex>
#include <stdexcept>

namespace fs = std::filesystem;
using namespace batchproc;
using batchproc::test::TempDir;
using batchproc::test::write_text;

namespace {

void set_mtime_ns(const fs::path &path, int64_t ns) {
    const timespec times[2] = {{ns / 1'000'000'000, ns % 1'000'000'000}, {ns / 1'000'000'000, ns % 1'000'000'000}};
    ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0) << path;
}

std::string random_bytes(size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::string bytes(n, '\0');
    for (char &c : bytes) c = static_cast<char>(rng() & 0xff);
    return bytes;
}

bool is_hex32(const std::string &s) { return std::regex_match(s, std::regex("[0-9a-f]{32}")); }

std::string error_of(const std::function<void()> &f) {
    try {
        f();
    } catch (const std::runtime_error &e) {
        return e.what();
    }
    return "(no error)";
}

} // namespace

TEST(FileIdentity, ReportsTheStatOfTheFileToTheNanosecond) {
    TempDir dir("bp-identity");
    const fs::path file = dir / "a.txt";
    write_text(file, "12345");
    const int64_t mtime = 1'600'000'000'123'456'789;
    set_mtime_ns(file, mtime);
    struct stat st {};
    ASSERT_EQ(::stat(file.c_str(), &st), 0);

    const FileIdentity id = identify_file(file, false);
    EXPECT_TRUE(id.exists);
    EXPECT_EQ(id.size, 5u);
    EXPECT_EQ(id.mtime_ns, mtime);
    EXPECT_EQ(id.dev, static_cast<uint64_t>(st.st_dev));
    EXPECT_EQ(id.ino, static_cast<uint64_t>(st.st_ino));
    EXPECT_EQ(id.content_hash, "");

    const FileIdentity hashed = identify_file(file, true);
    EXPECT_EQ(hashed.content_hash, hash_bytes("12345"));
    FileIdentity without = hashed;
    without.content_hash.clear();
    EXPECT_EQ(without, id);
}

TEST(FileIdentity, ChangesWhenTheFileIsRewrittenTouchedOrReplaced) {
    TempDir dir("bp-identity");
    const fs::path file = dir / "a.txt";
    write_text(file, "first");
    set_mtime_ns(file, 1'000'000'000'000'000'000);
    const FileIdentity before = identify_file(file, true);

    // Rewritten in place, other length: same inode, new size and bytes.
    write_text(file, "second version");
    set_mtime_ns(file, 1'000'000'000'000'000'000);
    const FileIdentity rewritten = identify_file(file, true);
    EXPECT_EQ(rewritten.ino, before.ino);
    EXPECT_NE(rewritten.size, before.size);
    EXPECT_NE(rewritten.content_hash, before.content_hash);
    EXPECT_NE(rewritten, before);

    // Touched: only the mtime moves.
    set_mtime_ns(file, 1'000'000'000'000'000'001);
    const FileIdentity touched = identify_file(file, true);
    EXPECT_EQ(touched.mtime_ns, rewritten.mtime_ns + 1);
    EXPECT_EQ(touched.size, rewritten.size);
    EXPECT_EQ(touched.content_hash, rewritten.content_hash);
    EXPECT_NE(touched, rewritten);

    // Replaced by a rename (as atomic writers do): same bytes and times, another inode.
    const fs::path other = dir / "b.txt";
    write_text(other, "second version");
    set_mtime_ns(other, 1'000'000'000'000'000'001);
    fs::rename(other, file);
    const FileIdentity replaced = identify_file(file, true);
    EXPECT_NE(replaced.ino, touched.ino);
    EXPECT_EQ(replaced.content_hash, touched.content_hash);
    EXPECT_NE(replaced, touched);
}

TEST(FileIdentity, AMissingFileDoesNotExist) {
    TempDir dir("bp-identity");
    write_text(dir / "plain", "x");
    for (const fs::path &p : {dir / "missing", dir / "no/such/folder/file", dir / "plain/below"}) {
        for (bool hash : {false, true}) {
            const FileIdentity id = identify_file(p, hash);
            EXPECT_FALSE(id.exists) << p;
            EXPECT_EQ(id, FileIdentity{}) << p;
        }
    }
}

TEST(FileIdentity, FollowsSymbolicLinks) {
    TempDir dir("bp-identity");
    write_text(dir / "target", "data");
    fs::create_symlink(dir / "target", dir / "link");
    EXPECT_EQ(identify_file(dir / "link", true), identify_file(dir / "target", true));
    fs::create_symlink(dir / "gone", dir / "dangling");
    EXPECT_FALSE(identify_file(dir / "dangling", false).exists);
}

TEST(FileIdentity, OtherErrorsThrowNamingTheFile) {
    TempDir dir("bp-identity");
    fs::create_symlink(dir / "loop2", dir / "loop1");
    fs::create_symlink(dir / "loop1", dir / "loop2");
    const fs::path loop = dir / "loop1";
    for (bool hash : {false, true}) {
        const std::string message = error_of([&] { identify_file(loop, hash); });
        EXPECT_NE(message.find(loop.string()), std::string::npos) << message;
        EXPECT_NE(message.find("symbolic links"), std::string::npos) << message;
    }
    // A folder has an identity but no content to hash.
    const fs::path folder = dir / "folder";
    fs::create_directory(folder);
    EXPECT_TRUE(identify_file(folder, false).exists);
    const std::string message = error_of([&] { identify_file(folder, true); });
    EXPECT_NE(message.find(folder.string()), std::string::npos) << message;
    EXPECT_NE(message.find("not a regular file"), std::string::npos) << message;
    EXPECT_NE(error_of([&] { hash_file_content(dir / "missing"); }).find("missing"), std::string::npos);
    // A FIFO neither hangs the open nor hashes as if it were a file.
    const fs::path fifo = dir / "fifo";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    EXPECT_NE(error_of([&] { identify_file(fifo, true); }).find("not a regular file"), std::string::npos);
}

TEST(FileIdentity, EqualityComparesEveryField) {
    FileIdentity a;
    a.exists = true;
    a.size = 1;
    a.mtime_ns = 2;
    a.dev = 3;
    a.ino = 4;
    a.content_hash = "h";
    EXPECT_EQ(a, a);
    const std::vector<std::function<void(FileIdentity &)>> changes = {
        [](FileIdentity &x) { x.exists = false; }, [](FileIdentity &x) { x.size = 9; },
        [](FileIdentity &x) { x.mtime_ns = 9; },   [](FileIdentity &x) { x.dev = 9; },
        [](FileIdentity &x) { x.ino = 9; },        [](FileIdentity &x) { x.content_hash = "g"; }};
    for (size_t i = 0; i < changes.size(); ++i) {
        FileIdentity b = a;
        changes[i](b);
        EXPECT_NE(a, b) << "field " << i;
        EXPECT_FALSE(a == b) << "field " << i;
    }
}

TEST(ContentHash, EqualBytesHashEqualAndDifferentBytesDiffer) {
    TempDir dir("bp-identity");
    const std::string bytes = random_bytes(100'000, 1);
    std::string flipped = bytes;
    flipped[50'000] = static_cast<char>(flipped[50'000] ^ 1);
    write_text(dir / "a", bytes);
    write_text(dir / "b", bytes);
    write_text(dir / "c", flipped);
    EXPECT_EQ(hash_file_content(dir / "a"), hash_file_content(dir / "b"));
    EXPECT_NE(hash_file_content(dir / "a"), hash_file_content(dir / "c"));
    EXPECT_EQ(hash_bytes("abc"), hash_bytes(std::string("abc")));
    EXPECT_NE(hash_bytes("abc"), hash_bytes("abd"));
    EXPECT_NE(hash_bytes(std::string("a\0b", 3)), hash_bytes(std::string("a\0c", 3)));
}

TEST(ContentHash, StreamingAFileGivesTheOneShotHashOfItsBytes) {
    TempDir dir("bp-identity");
    // Around the 256 KiB read block, and a file of several blocks.
    for (size_t size : {size_t{0}, size_t{1}, size_t{240}, size_t{262'143}, size_t{262'144}, size_t{262'145},
                        size_t{3 * 1024 * 1024 + 7}}) {
        const std::string bytes = random_bytes(size, static_cast<unsigned>(size));
        const fs::path file = dir / ("f" + std::to_string(size));
        write_text(file, bytes);
        const std::string expected = hash_bytes(bytes);
        EXPECT_EQ(hash_file_content(file), expected) << size;
        EXPECT_EQ(identify_file(file, true).content_hash, expected) << size;
    }
}

TEST(ContentHash, IsXxh3Of128BitsAs32LowercaseHexDigits) {
    // The canonical XXH3-128 digests (as xxh128sum prints them): "" is in xxHash's own test vectors.
    EXPECT_EQ(hash_bytes(""), "99aa06d3014798d86001c324468d497f");
    EXPECT_EQ(hash_bytes("abc"), "06b05ab6733a618578af5f94892f3950");
    for (unsigned seed = 0; seed < 20; ++seed) {
        const std::string h = hash_bytes(random_bytes(seed * 37, seed));
        EXPECT_TRUE(is_hex32(h)) << h;
    }
}
