// Queue and SimpleQueue: order, timeouts, bounds, many producers and consumers under each
// start method, what cannot be sent, and the queue's behaviour when a process dies holding
// one of its locks.
#include "batchproc/mp/process.hpp"
#include "batchproc/mp/queue.hpp"

#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace mp = batchproc::mp;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

struct Item {
    int id = 0;
    std::string label;
    std::vector<double> values;
    template <class Archive>
    void serialize(Archive &ar) {
        ar(id, label, values);
    }
};

constexpr int kProducers = 3;
constexpr int kConsumers = 2;
constexpr int kItemsPerProducer = 2000;

void produce(mp::Queue<int> queue, int producer) {
    for (int i = 0; i < kItemsPerProducer; ++i) queue.put(producer * 1'000'000 + i);
}
BATCHPROC_MP_TASK(produce);

// Takes items until the end marker (-1), then reports what it took.
void consume(mp::Queue<int> queue, mp::Queue<std::vector<int>> taken) {
    std::vector<int> mine;
    for (;;) {
        const int v = queue.get();
        if (v < 0) break;
        mine.push_back(v);
    }
    taken.put(mine);
}
BATCHPROC_MP_TASK(consume);

class QueueAcrossProcesses : public ::testing::TestWithParam<mp::StartMethod> {};

std::string method_name(const ::testing::TestParamInfo<mp::StartMethod> &info) { return mp::to_string(info.param); }

} // namespace

TEST(Queue, FirstInFirstOut) {
    mp::Queue<int> q;
    EXPECT_TRUE(q.empty());
    for (int i = 0; i < 100; ++i) q.put(i);
    EXPECT_EQ(q.qsize(), 100);
    EXPECT_FALSE(q.empty());
    for (int i = 0; i < 100; ++i) EXPECT_EQ(q.get(), i);
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.qsize(), 0);
}

TEST(Queue, UserTypesAndStandardContainers) {
    mp::Queue<Item> q;
    q.put(Item{7, "seven", {1.5, 2.5}});
    const Item got = q.get();
    EXPECT_EQ(got.id, 7);
    EXPECT_EQ(got.label, "seven");
    EXPECT_EQ(got.values, (std::vector<double>{1.5, 2.5}));

    mp::Queue<std::map<std::string, std::vector<int>>> m;
    m.put({{"a", {1}}, {"b", {2, 3}}});
    EXPECT_EQ(m.get().at("b").size(), 2u);
}

TEST(Queue, GetWithTimeoutReturnsNulloptWhenNothingComes) {
    mp::Queue<int> q;
    const auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(q.get(0.3).has_value());
    EXPECT_GE(seconds_since(start), 0.25);
    EXPECT_FALSE(q.get(0).has_value()); // an integer timeout works too
    q.put(5);
    EXPECT_EQ(q.get(0.3), 5);
}

TEST(Queue, NonBlockingAndTimedGetThrowEmpty) {
    mp::Queue<int> q;
    EXPECT_THROW(q.get(false), mp::Empty);
    EXPECT_THROW(q.get_nowait(), mp::Empty);
    const auto start = std::chrono::steady_clock::now();
    EXPECT_THROW(q.get(true, 0.2), mp::Empty);
    EXPECT_GE(seconds_since(start), 0.15);
    q.put(1);
    EXPECT_EQ(q.get_nowait(), 1);
}

TEST(Queue, BoundedQueueRefusesWhenFullAndTimesOut) {
    mp::Queue<int> q(2);
    EXPECT_EQ(q.maxsize(), 2);
    q.put(1);
    q.put(2);
    EXPECT_TRUE(q.full());
    EXPECT_THROW(q.put_nowait(3), mp::Full);
    EXPECT_THROW(q.put(3, false), mp::Full);
    const auto start = std::chrono::steady_clock::now();
    EXPECT_THROW(q.put(3, true, 0.3), mp::Full);
    EXPECT_GE(seconds_since(start), 0.25);
    EXPECT_EQ(q.get(), 1);
    EXPECT_FALSE(q.full());
    q.put_nowait(3);
    EXPECT_EQ(q.get(), 2);
    EXPECT_EQ(q.get(), 3);
}

TEST(Queue, BoundedPutBlocksUntilAConsumerMakesRoom) {
    mp::Queue<int> q(1);
    q.put(1);
    mp::Process consumer(mp::get_context(mp::StartMethod::fork), [q]() mutable {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        if (q.get() != 1) throw mp::SystemExit{3};
    });
    consumer.start();
    const auto start = std::chrono::steady_clock::now();
    q.put(2); // waits for the consumer's get
    EXPECT_GE(seconds_since(start), 0.2);
    consumer.join();
    EXPECT_EQ(consumer.exitcode(), 0);
    EXPECT_EQ(q.get(), 2);
}

TEST(Queue, LargeItemsWithAConcurrentReader) {
    mp::Queue<std::vector<int>> q;
    std::vector<int> big(2'000'000);
    for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<int>(i * 7);
    mp::Process producer(mp::get_context(mp::StartMethod::fork), [q, big]() mutable {
        q.put(big);
        q.put(big);
    });
    producer.start();
    EXPECT_EQ(q.get(), big);
    EXPECT_EQ(q.get(), big);
    producer.join();
    EXPECT_EQ(producer.exitcode(), 0);
}

TEST(Queue, CloseMakesThisProcessesHandleUnusable) {
    mp::Queue<int> q;
    mp::Queue<int> copy = q;
    q.close();
    EXPECT_TRUE(copy.closed());
    EXPECT_THROW(q.put(1), mp::ValueError);
    EXPECT_THROW(copy.get(false), mp::ValueError);
}

TEST(Queue, AQueueCannotBeSentThroughAQueue) {
    mp::Queue<mp::Queue<int>> outer;
    mp::Queue<int> inner;
    EXPECT_THROW(outer.put(inner), mp::ValueError);
    EXPECT_TRUE(outer.empty());
}

TEST(SimpleQueue, AcrossAForkChild) {
    mp::SimpleQueue<std::string> q;
    mp::Process p(mp::get_context(mp::StartMethod::fork), [q]() mutable {
        for (int i = 0; i < 50; ++i) q.put("item " + std::to_string(i));
    });
    p.start();
    for (int i = 0; i < 50; ++i) EXPECT_EQ(q.get(), "item " + std::to_string(i));
    p.join();
    EXPECT_TRUE(q.empty());
}

// Three producers and two consumers: every item is delivered exactly once.
TEST_P(QueueAcrossProcesses, ThreeProducersTwoConsumersDeliverEveryItemOnce) {
    const mp::Context ctx = mp::get_context(GetParam());
    mp::Queue<int> queue;
    mp::Queue<std::vector<int>> taken;
    std::vector<mp::Process> consumers, producers;
    for (int c = 0; c < kConsumers; ++c) consumers.push_back(ctx.Process(consume, queue, taken));
    for (int p = 0; p < kProducers; ++p) producers.push_back(ctx.Process(produce, queue, p));
    for (auto &c : consumers) c.start();
    for (auto &p : producers) p.start();
    for (auto &p : producers) {
        ASSERT_TRUE(p.join(120.0));
        EXPECT_EQ(p.exitcode(), 0);
    }
    for (int c = 0; c < kConsumers; ++c) queue.put(-1);
    std::vector<int> all;
    for (int c = 0; c < kConsumers; ++c) {
        const auto part = taken.get(120.0);
        ASSERT_TRUE(part.has_value());
        all.insert(all.end(), part->begin(), part->end());
    }
    for (auto &c : consumers) {
        ASSERT_TRUE(c.join(120.0));
        EXPECT_EQ(c.exitcode(), 0);
    }
    std::sort(all.begin(), all.end());
    std::vector<int> expected;
    for (int p = 0; p < kProducers; ++p)
        for (int i = 0; i < kItemsPerProducer; ++i) expected.push_back(p * 1'000'000 + i);
    EXPECT_EQ(all.size(), expected.size());
    EXPECT_TRUE(all == expected) << "items lost or duplicated";
    EXPECT_TRUE(queue.empty());
}

INSTANTIATE_TEST_SUITE_P(Each, QueueAcrossProcesses,
                         ::testing::Values(mp::StartMethod::fork, mp::StartMethod::spawn, mp::StartMethod::forkserver),
                         method_name);

// Fault injection: a consumer killed while it waits in get(), holding the read lock.
TEST(QueueFaults, AConsumerKilledInsideGetDoesNotBlockTheOthers) {
    mp::Queue<int> q;
    mp::Queue<int> ready;
    mp::Process consumer(mp::get_context(mp::StartMethod::fork), [q, ready]() mutable {
        ready.put(1);
        q.get(); // waits with the read lock held
    });
    consumer.start();
    ASSERT_EQ(ready.get(30.0), 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(200)); // inside get() by now
    consumer.kill();
    consumer.join();
    q.put(7);
    EXPECT_EQ(q.get(10.0), 7);
    q.put(8);
    EXPECT_EQ(q.get(10.0), 8);
}

// Fault injection: a producer killed in the middle of writing a large item. The readers
// learn that the stream is cut instead of waiting for the rest for ever.
TEST(QueueFaults, AProducerKilledInsideAWriteBreaksTheQueueLoudly) {
    mp::Queue<std::string> q;
    mp::Process producer(mp::get_context(mp::StartMethod::fork), [q]() mutable {
        q.put(std::string(16u << 20, 'x')); // more than the socket holds: blocks inside put
    });
    producer.start();
    const auto start = std::chrono::steady_clock::now();
    while (q.empty() && seconds_since(start) < 30.0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_FALSE(q.empty());
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    producer.kill();
    producer.join();
    EXPECT_EQ(producer.exitcode(), -SIGKILL);
    try {
        q.get(10.0);
        FAIL() << "a cut message was returned";
    } catch (const mp::Error &e) {
        EXPECT_NE(std::string(e.what()).find("broken"), std::string::npos) << e.what();
    }
    EXPECT_THROW(q.put("more"), mp::Error);
    EXPECT_THROW(q.get(false), mp::Error);
}

// Fault injection: a consumer killed in the middle of reading a large item. The producer is
// stopped (SIGSTOP) half-way through writing it, so the consumer is surely inside the item
// when it is killed; the next reader learns that the stream position is lost.
TEST(QueueFaults, AConsumerKilledInsideARead) {
    mp::Queue<std::string> q;
    mp::Process producer(mp::get_context(mp::StartMethod::fork), [q]() mutable {
        q.put(std::string(16u << 20, 'x'));
    });
    producer.start();
    auto start = std::chrono::steady_clock::now();
    while (q.empty() && seconds_since(start) < 30.0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_FALSE(q.empty());
    std::this_thread::sleep_for(std::chrono::milliseconds(100)); // the socket buffer is full
    ASSERT_EQ(kill(producer.pid(), SIGSTOP), 0);

    mp::Process consumer(mp::get_context(mp::StartMethod::fork), [q]() mutable { q.get(); });
    consumer.start();
    start = std::chrono::steady_clock::now();
    while (!q.empty() && seconds_since(start) < 30.0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_TRUE(q.empty()); // the consumer took what was there and waits for the rest
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    consumer.kill();
    consumer.join();
    EXPECT_EQ(consumer.exitcode(), -SIGKILL);
    kill(producer.pid(), SIGCONT);

    try {
        q.get(10.0);
        FAIL() << "a read from the middle of an item succeeded";
    } catch (const mp::Error &e) {
        EXPECT_NE(std::string(e.what()).find("died while reading"), std::string::npos) << e.what();
    }
    producer.kill();
    producer.join();
}
