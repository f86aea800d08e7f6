// SharedMemory: names, sharing across fork and exec, and who removes the name when.
#include "batchproc/mp/errors.hpp"
#include "batchproc/mp/shared_memory.hpp"
#include "mp_test_support.hpp"

#include <sys/mman.h>
#include <sys/stat.h>

#include <csignal>
#include <cstring>
#include <system_error>

using batchproc::mp::SharedMemory;
using batchproc::mp::ValueError;
using mp_test::MpTest;

namespace {

bool name_exists(const std::string &name) {
    struct stat st {};
    return stat(("/dev/shm" + name).c_str(), &st) == 0;
}

int run_child_role(const std::string &role, const std::string &data) {
    if (role == "write_greeting") {
        SharedMemory block;
        mp_test::deserialize(data, block);
        if (block.is_creator() || block.size() != 64) return 2;
        std::strcpy(reinterpret_cast<char *>(block.data()), "hello from an exec'd child");
        return 0;
    }
    return 97;
}

} // namespace

using SharedMemoryTest = MpTest;

TEST_F(SharedMemoryTest, CreatesAZeroedPrivateBlockUnderAFreshName) {
    SharedMemory block = SharedMemory::create(100);
    ASSERT_TRUE(block);
    EXPECT_EQ(block.size(), 100u);
    EXPECT_TRUE(block.is_creator());
    EXPECT_EQ(block.name().rfind("/bpmp-" + std::to_string(getpid()) + "-", 0), 0u) << block.name();
    for (size_t i = 0; i < block.size(); ++i) ASSERT_EQ(block.data()[i], std::byte{0});
    struct stat st {};
    ASSERT_EQ(stat(("/dev/shm" + block.name()).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_NE(SharedMemory::create(100).name(), block.name());
}

TEST_F(SharedMemoryTest, AForkedChildWritesWhatTheParentReads) {
    SharedMemory block = SharedMemory::create(4096);
    const pid_t inherited = mp_test::fork_child([&] {
        std::strcpy(reinterpret_cast<char *>(block.data()), "inherited");
        return 0;
    });
    ASSERT_EQ(mp_test::wait_exit(inherited), 0);
    EXPECT_STREQ(reinterpret_cast<const char *>(block.data()), "inherited");

    // A child that attaches by name sees the same bytes.
    const std::string name = block.name();
    const pid_t attached = mp_test::fork_child([name] {
        SharedMemory mine = SharedMemory::attach(name);
        std::strcpy(reinterpret_cast<char *>(mine.data()) + 100, "attached");
        return mine.size() == 4096 ? 0 : 1;
    });
    ASSERT_EQ(mp_test::wait_exit(attached), 0);
    EXPECT_STREQ(reinterpret_cast<const char *>(block.data()) + 100, "attached");
}

TEST_F(SharedMemoryTest, AnExecdChildAttachesItFromItsSerializedForm) {
    SharedMemory block = SharedMemory::create(64);
    const pid_t child = mp_test::spawn_self("write_greeting", mp_test::serialize(block));
    ASSERT_GT(child, 0);
    ASSERT_EQ(mp_test::wait_exit(child), 0);
    EXPECT_STREQ(reinterpret_cast<const char *>(block.data()), "hello from an exec'd child");
    EXPECT_TRUE(name_exists(block.name())) << "a child's handles must not remove the creator's name";
}

TEST_F(SharedMemoryTest, AttachingInTheCreatingProcessSharesItsMapping) {
    SharedMemory block = SharedMemory::create(10);
    SharedMemory again = SharedMemory::attach(block.name());
    EXPECT_EQ(again.data(), block.data());
    EXPECT_TRUE(again.is_creator());
}

TEST_F(SharedMemoryTest, TheNameGoesWithTheCreatorsLastHandle) {
    std::string name;
    {
        SharedMemory block = SharedMemory::create(10);
        name = block.name();
        {
            SharedMemory copy = block; // NOLINT: a second handle
            SharedMemory moved = std::move(copy);
            EXPECT_TRUE(moved);
        }
        EXPECT_TRUE(name_exists(name));
        // Children that inherit or attach it and let go do not remove it.
        const pid_t child = mp_test::fork_child([block, name] {
            SharedMemory attached = SharedMemory::attach(name);
            SharedMemory inherited = block;
            attached.close();
            inherited.close();
            return 0;
        });
        ASSERT_EQ(mp_test::wait_exit(child), 0);
        EXPECT_TRUE(name_exists(name));
    }
    EXPECT_FALSE(name_exists(name));
}

TEST_F(SharedMemoryTest, UnlinkRemovesTheNameButKeepsTheMemory) {
    SharedMemory block = SharedMemory::create(16);
    block.data()[3] = std::byte{42};
    block.unlink();
    block.unlink(); // again: nothing
    EXPECT_FALSE(name_exists(block.name()));
    EXPECT_EQ(block.data()[3], std::byte{42});
    try {
        SharedMemory::attach(block.name());
        FAIL() << "attached a removed block";
    } catch (const std::system_error &e) {
        EXPECT_EQ(e.code().value(), ENOENT);
        EXPECT_NE(std::string(e.what()).find("keep a handle"), std::string::npos) << e.what();
    }
}

TEST_F(SharedMemoryTest, RejectsAZeroSizeAndNamesThatAreNotBlockNames) {
    EXPECT_THROW(SharedMemory::create(0), ValueError);
    EXPECT_THROW(SharedMemory::attach("no-slash"), ValueError);
    EXPECT_THROW(SharedMemory::attach("/a/b"), ValueError);
    EXPECT_THROW(SharedMemory::attach("/bpmp-does-not-exist"), std::system_error);
    SharedMemory empty;
    EXPECT_FALSE(empty);
    EXPECT_EQ(empty.data(), nullptr);
    EXPECT_EQ(empty.size(), 0u);
}

// The documented limit: a creator killed before it lets go leaves its name behind (as
// Python without its resource tracker); whoever knows the name may remove it.
TEST_F(SharedMemoryTest, ACreatorKilledWithSigkillLeavesItsNameBehind) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t child = mp_test::fork_child([&] {
        SharedMemory block = SharedMemory::create(10);
        const std::string name = block.name();
        if (write(fds[1], name.c_str(), name.size() + 1) < 0) return 1;
        raise(SIGKILL);
        return 0;
    });
    close(fds[1]);
    char name[128] = {};
    ASSERT_GT(read(fds[0], name, sizeof name - 1), 0);
    close(fds[0]);
    EXPECT_EQ(mp_test::wait_exit(child), -SIGKILL);
    EXPECT_TRUE(name_exists(name));
    EXPECT_EQ(std::string(name).rfind("/bpmp-" + std::to_string(child) + "-", 0), 0u);
    SharedMemory::attach(name).unlink();
    EXPECT_FALSE(name_exists(name));
}

namespace {
const bool child_dispatched = mp_test::dispatch_child(&run_child_role);
}
