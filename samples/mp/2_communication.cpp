// Lesson 2: communication — a producer and a consumer over a Queue, ended by a marker; a Pipe
// whose receiver stops at EOFError.
#include <batchproc/mp/connection.hpp>
#include <batchproc/mp/process.hpp>
#include <batchproc/mp/queue.hpp>

#include <cstdio>
#include <optional>

namespace mp = batchproc::mp;

int main() {
    mp::Queue<std::optional<int>> q;
    mp::Process producer([q]() mutable {
        for (int i = 0; i < 5; ++i) q.put(i * i);
        q.put(std::nullopt); // the end marker (Python's None)
    });
    mp::Process consumer([q]() mutable {
        int total = 0;
        while (std::optional<int> item = q.get()) {
            std::printf("consumed %d\n", *item);
            total += *item;
        }
        std::printf("consumer total %d\n", total);
    });
    producer.start();
    consumer.start();
    producer.join();
    consumer.join();

    auto [receiver, sender] = mp::Pipe<std::string>(false);
    mp::Process writer([sender = sender, receiver = receiver]() mutable {
        receiver.close(); // not ours: only the reader keeps the reading end
        for (const char *word : {"hello", "from", "the", "pipe"}) sender.send(word);
        sender.close();
    });
    writer.start();
    sender.close(); // so that the reader sees the end when the writer closes its copy
    try {
        for (;;) std::printf("received %s\n", receiver.recv().c_str());
    } catch (const mp::EOFError &) {
        std::printf("EOFError: the pipe is closed\n");
    }
    writer.join();
}
