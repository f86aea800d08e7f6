#include "pool/result_buffer.hpp"
#include "support/counter_lock_fault.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

using namespace batchproc;

TEST(ResultBuffer, CountersAddUpAcrossProcesses) {
    ResultBuffer buffer = ResultBuffer::create(4);
    constexpr int kChildren = 4, kUpdates = 2000;
    std::vector<pid_t> pids;
    for (int c = 0; c < kChildren; ++c) {
        const pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            for (int i = 0; i < kUpdates; ++i)
                buffer.update([](PoolCounters &k) {
                    ++k.done;
                    k.bytes_in += 3;
                });
            _exit(0);
        }
        pids.push_back(pid);
    }
    for (pid_t pid : pids) {
        int status = 0;
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    const PoolCounters c = buffer.counters();
    EXPECT_EQ(c.done, uint64_t(kChildren * kUpdates));
    EXPECT_EQ(c.bytes_in, uint64_t(3 * kChildren * kUpdates));
    EXPECT_EQ(buffer.lock_repairs(), 0u);
}

TEST(ResultBuffer, AHolderDyingMidUpdateIsRepairedByTheNextLocker) {
    ResultBuffer buffer = ResultBuffer::create(4);
    buffer.update([](PoolCounters &k) {
        k.done = 5;
        k.ok = 5;
    });
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) batchproc::test::die_holding_counter_lock(); // corrupts `done`, then SIGKILLs itself
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status));
    EXPECT_EQ(WTERMSIG(status), SIGKILL);
    // The next locker (this process) gets EOWNERDEAD and restores the committed state.
    ASSERT_TRUE(buffer.update([](PoolCounters &k) { ++k.ok; }));
    EXPECT_EQ(buffer.lock_repairs(), 1u);
    const PoolCounters c = buffer.counters();
    EXPECT_EQ(c.done, 5u) << "the half-done update must not survive";
    EXPECT_EQ(c.ok, 6u);
    // And the lock works normally afterwards.
    EXPECT_TRUE(buffer.update([](PoolCounters &k) { ++k.done; }));
    EXPECT_EQ(buffer.counters().done, 6u);
    EXPECT_EQ(buffer.lock_repairs(), 1u);
}

TEST(ResultBuffer, SlotsRoundTripAJobRecord) {
    ResultBuffer buffer = ResultBuffer::create(2);
    JobRecord r;
    r.status = JobStatus::failed;
    r.error = "damaged JPEG: corrupt data";
    r.worker_pid = 1234;
    r.ms = 12.5;
    r.bytes_in = 100;
    r.bytes_out = 7;
    r.metrics_json = R"({"width":10,"sum":"285"})";
    r.warnings = {"first", "second"};
    r.stage_ms = {{"resize", 1.5}, {"save", 2.5}};
    ResultSlot &slot = buffer.slot(1);
    slot.attempts = 2;
    EXPECT_EQ(ResultBuffer::store(slot, r), "") << "a small record stays inline";
    const JobRecord back = ResultBuffer::load(slot);
    EXPECT_EQ(back.status, JobStatus::failed);
    EXPECT_EQ(back.error, r.error);
    EXPECT_EQ(back.worker_pid, 1234);
    EXPECT_EQ(back.attempts, 2);
    EXPECT_DOUBLE_EQ(back.ms, 12.5);
    EXPECT_EQ(back.bytes_in, 100u);
    EXPECT_EQ(back.bytes_out, 7u);
    EXPECT_EQ(back.metrics_json, r.metrics_json);
    EXPECT_EQ(back.warnings, r.warnings);
    ASSERT_EQ(back.stage_ms.size(), 2u);
    EXPECT_EQ(back.stage_ms[1].stage, "save");
    EXPECT_DOUBLE_EQ(back.stage_ms[1].ms, 2.5);
}

// Metrics over 2 KiB once became {"truncated": true}, errors were cut at 1 KiB (inside a
// character, at times) and stage timings past the 16th were dropped.
TEST(ResultBuffer, BigTextsOverflowWholeAndComeBackExactly) {
    ResultBuffer buffer = ResultBuffer::create(1);
    JobRecord r;
    r.status = JobStatus::ok;
    r.error = std::string(3000, 'e') + "\xc3\xa9"; // ends with a two-byte character
    r.metrics_json = "{\"blob\":\"" + std::string(100000, 'x') + "\"}";
    for (int i = 0; i < 40; ++i) r.stage_ms.push_back({"stage" + std::to_string(i), i * 0.5});
    r.warnings = {std::string(5000, 'w')};
    ResultSlot &slot = buffer.slot(0);
    const std::string overflow = ResultBuffer::store(slot, r);
    ASSERT_FALSE(overflow.empty());
    const JobRecord back = ResultBuffer::load(slot, &overflow);
    EXPECT_EQ(back.status, JobStatus::ok);
    EXPECT_EQ(back.error, r.error);
    EXPECT_EQ(back.metrics_json, r.metrics_json);
    EXPECT_EQ(back.warnings, r.warnings);
    ASSERT_EQ(back.stage_ms.size(), 40u);
    EXPECT_EQ(back.stage_ms[39].stage, "stage39");
    EXPECT_DOUBLE_EQ(back.stage_ms[39].ms, 19.5);
}

TEST(ResultBuffer, ADoneSlotWhoseTextsNeverArrivedIsAFailureSayingSo) {
    ResultBuffer buffer = ResultBuffer::create(1);
    JobRecord r;
    r.status = JobStatus::ok;
    r.metrics_json = "{\"blob\":\"" + std::string(10000, 'x') + "\"}";
    ResultSlot &slot = buffer.slot(0);
    const std::string overflow = ResultBuffer::store(slot, r);
    ASSERT_FALSE(overflow.empty());
    const JobRecord lost = ResultBuffer::load(slot, nullptr);
    EXPECT_EQ(lost.status, JobStatus::failed);
    EXPECT_NE(lost.error.find("before it could report"), std::string::npos) << lost.error;
    const std::string cut = overflow.substr(0, overflow.size() - 1);
    EXPECT_EQ(ResultBuffer::load(slot, &cut).status, JobStatus::failed);
}

TEST(ResultBuffer, MalformedTextsRecordsAreRejected) {
    JobRecord r;
    r.error = "x";
    r.stage_ms = {{"s", 1}};
    const std::string good = encode_texts(r);
    JobRecord back;
    EXPECT_TRUE(decode_texts(good, back));
    EXPECT_FALSE(decode_texts(good.substr(0, good.size() - 3), back));
    EXPECT_FALSE(decode_texts(good + "z", back));
    EXPECT_FALSE(decode_texts(std::string("\xff\xff\xff\xff"), back));
}

TEST(ResultBuffer, WorkersSeeTheStopRequest) {
    ResultBuffer buffer = ResultBuffer::create(1);
    EXPECT_FALSE(buffer.stop_requested());
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        for (int i = 0; i < 2000 && !buffer.stop_requested(); ++i) usleep(1000);
        _exit(buffer.stop_requested() ? 0 : 1);
    }
    buffer.request_stop();
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
