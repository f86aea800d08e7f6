// Pipe and Connection: messages both ways, EOFError, poll, one-way pipes, closed ends,
// large messages, and ends passed to spawn children.
#include "batchproc/mp/connection.hpp"
#include "batchproc/mp/process.hpp"
#include "batchproc/mp/queue.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace mp = batchproc::mp;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

struct Reading {
    std::string sensor;
    double value = 0;
    template <class Archive>
    void serialize(Archive &ar) {
        ar(sensor, value);
    }
};

void send_squares(mp::Connection<int> out, int n) {
    for (int i = 1; i <= n; ++i) out.send(i * i);
}
BATCHPROC_MP_TASK(send_squares);

const mp::Context fork_ctx = mp::get_context(mp::StartMethod::fork);

} // namespace

TEST(Pipe, SendsAndReceivesInBothDirections) {
    auto [a, b] = mp::Pipe<Reading>();
    EXPECT_TRUE(a.readable() && a.writable() && b.readable() && b.writable());
    a.send(Reading{"t1", 21.5});
    b.send(Reading{"t2", -3.0});
    const Reading at_b = b.recv();
    const Reading at_a = a.recv();
    EXPECT_EQ(at_b.sensor, "t1");
    EXPECT_EQ(at_b.value, 21.5);
    EXPECT_EQ(at_a.sensor, "t2");
}

TEST(Pipe, RecvThrowsEOFErrorOnceTheOtherEndIsClosedAndNothingIsLeft) {
    auto [a, b] = mp::Pipe<int>();
    a.send(1);
    a.send(2);
    a.close();
    EXPECT_TRUE(a.closed());
    EXPECT_EQ(b.recv(), 1);
    EXPECT_EQ(b.recv(), 2);
    EXPECT_THROW(b.recv(), mp::EOFError);
}

TEST(Pipe, ReceiverStopsAtEOFErrorFromAChild) {
    auto [receiver, sender] = mp::Pipe<std::string>();
    mp::Process p(fork_ctx, [sender = sender]() mutable {
        for (const char *word : {"to", "be", "or", "not"}) sender.send(word);
    });
    p.start();
    sender.close(); // our copy: the child's is the last one
    std::vector<std::string> words;
    try {
        for (;;) words.push_back(receiver.recv());
    } catch (const mp::EOFError &) {
    }
    p.join();
    EXPECT_EQ(words, (std::vector<std::string>{"to", "be", "or", "not"}));
}

TEST(Pipe, PollWaitsAtMostItsTimeout) {
    auto [a, b] = mp::Pipe<int>();
    EXPECT_FALSE(b.poll());
    const auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(b.poll(0.3));
    EXPECT_GE(seconds_since(start), 0.25);
    a.send(9);
    EXPECT_TRUE(b.poll());
    EXPECT_TRUE(b.poll(std::nullopt));
    EXPECT_EQ(b.recv(), 9);
    a.close();
    EXPECT_TRUE(b.poll(1.0)); // the end of the stream is something to read
}

TEST(Pipe, PollWakesWhenAChildSends) {
    auto [a, b] = mp::Pipe<int>();
    mp::Process p(fork_ctx, [b = b]() mutable {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        b.send(5);
    });
    p.start();
    EXPECT_TRUE(a.poll(30.0));
    EXPECT_EQ(a.recv(), 5);
    p.join();
}

TEST(Pipe, OneWayPipe) {
    auto [reader, writer] = mp::Pipe<int>(false);
    EXPECT_TRUE(reader.readable());
    EXPECT_FALSE(reader.writable());
    EXPECT_FALSE(writer.readable());
    EXPECT_TRUE(writer.writable());
    EXPECT_THROW(reader.send(1), mp::ValueError);
    EXPECT_THROW(writer.recv(), mp::ValueError);
    writer.send(3);
    EXPECT_EQ(reader.recv(), 3);
}

TEST(Pipe, SendToAClosedEndThrowsBrokenPipeError) {
    auto [a, b] = mp::Pipe<int>();
    b.close();
    EXPECT_THROW(a.send(1), mp::BrokenPipeError);
}

TEST(Pipe, ClosedAndUnconnectedEndsThrowValueError) {
    auto [a, b] = mp::Pipe<int>();
    a.close();
    EXPECT_EQ(a.fileno(), -1);
    EXPECT_THROW(a.send(1), mp::ValueError);
    EXPECT_THROW(a.recv(), mp::ValueError);
    mp::Connection<int> none;
    EXPECT_TRUE(none.closed());
    EXPECT_THROW(none.send(1), mp::ValueError);
    EXPECT_GE(b.fileno(), 0);
}

TEST(Pipe, CopiesAreTheSameEnd) {
    auto [a, b] = mp::Pipe<int>();
    mp::Connection<int> copy = a;
    copy.send(4);
    EXPECT_EQ(b.recv(), 4);
    copy.close();
    EXPECT_TRUE(a.closed());
}

TEST(Pipe, RawBytes) {
    auto [a, b] = mp::Pipe<int>();
    const std::string bytes("\0binary\xff", 8);
    a.send_bytes(bytes);
    a.send_bytes("");
    EXPECT_EQ(b.recv_bytes(), bytes);
    EXPECT_EQ(b.recv_bytes(), "");
}

TEST(Pipe, LargeMessagesThroughAnEchoingChild) {
    auto [a, b] = mp::Pipe<std::vector<double>>();
    mp::Process echo(fork_ctx, [b = b, a = a]() mutable {
        a.close();
        try {
            for (;;) b.send(b.recv());
        } catch (const mp::EOFError &) {
        }
    });
    echo.start();
    b.close();
    std::vector<double> big(1'500'000);
    for (size_t i = 0; i < big.size(); ++i) big[i] = double(i) / 3.0;
    for (int round = 0; round < 3; ++round) {
        a.send(big);
        EXPECT_EQ(a.recv(), big);
    }
    a.close();
    EXPECT_TRUE(echo.join(60.0));
    EXPECT_EQ(echo.exitcode(), 0);
}

TEST(Pipe, AnEndPassedToASpawnChild) {
    auto [receiver, sender] = mp::Pipe<int>();
    mp::Process p(mp::get_context(mp::StartMethod::spawn), send_squares, sender, 5);
    p.start();
    sender.close();
    std::vector<int> got;
    try {
        for (;;) got.push_back(receiver.recv());
    } catch (const mp::EOFError &) {
    }
    p.join();
    EXPECT_EQ(p.exitcode(), 0);
    EXPECT_EQ(got, (std::vector<int>{1, 4, 9, 16, 25}));
}

TEST(Pipe, AnEndCannotBeSentThroughAQueueOrAPipe) {
    auto [a, b] = mp::Pipe<int>();
    mp::Queue<mp::Connection<int>> q;
    EXPECT_THROW(q.put(a), mp::ValueError);
    auto [c, d] = mp::Pipe<mp::Connection<int>>();
    EXPECT_THROW(c.send(b), mp::ValueError);
}
