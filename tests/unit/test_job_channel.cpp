#include "pool/job_channel.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <unistd.h>

using namespace batchproc;

TEST(JobChannel, MessagesSurviveFramingAndArbitrarySplits) {
    Pipe pipe = Pipe::make();
    std::vector<JobMessage> sent{{3, 0, "/in/a b.jpg", pack_paths({"/out/a b.jpg", "/out/web/a b.webp"})},
                                 {4, 1, "", ""},
                                 {5, 123456789012, "/in/été/ph\xC3\xB4to.png", pack_paths({std::string(3000, 'x')})}};
    std::vector<char> bytes;
    for (const JobMessage &m : sent) encode_job(m, bytes);
    // Write one byte at a time from another thread, so the reader sees every split.
    std::thread writer([&] {
        for (char c : bytes) ASSERT_TRUE(write_all(pipe.write.get(), &c, 1));
        pipe.write.reset();
    });
    JobReader reader(pipe.read.get());
    for (const JobMessage &want : sent) {
        JobMessage got;
        ASSERT_TRUE(reader.next(got));
        EXPECT_EQ(got.slot, want.slot);
        EXPECT_EQ(got.index, want.index);
        EXPECT_EQ(got.input, want.input);
        EXPECT_EQ(got.outputs, want.outputs);
    }
    JobMessage extra;
    EXPECT_FALSE(reader.next(extra)); // end of input
    writer.join();
}

TEST(JobChannel, WriteToAClosedPipeFailsInsteadOfKilling) {
    signal(SIGPIPE, SIG_IGN);
    Pipe pipe = Pipe::make();
    pipe.read.reset();
    const char c = 'x';
    EXPECT_FALSE(write_all(pipe.write.get(), &c, 1));
}

TEST(JobChannel, OutputPathsPackAndUnpack) {
    const std::vector<std::filesystem::path> paths{"/out/a.jpg", "/out/web/a b.webp", "/out/\xff\xfe.png"};
    EXPECT_EQ(unpack_paths(pack_paths(paths)), paths);
    EXPECT_TRUE(unpack_paths(pack_paths({})).empty());
    EXPECT_EQ(pack_paths({}), "");
}
