// How the journal stores job rows: a run's writes are appended as batches, each one SQLite
// row holding many entries, so that a job costs the coordinator a few hundred nanoseconds
// of packing rather than a B-tree upsert. Reading replays the batches in order; the latest
// entry of a key wins.
//
// An entry: one byte of kind (1 a whole row, 2 a "running" mark, 3 a whole row of a job
// with several outputs: kind 1's fields, then the count of further outputs and each one's
// path and identity), then its fields in a fixed order; integers as LEB128 varints (signed ones zigzag-encoded), doubles as their 8
// IEEE bytes (little-endian), byte strings as a varint length and the bytes. The recipe
// stamp and the run id, the same for most entries of a batch, are written as varint 0 when
// equal to the previous entry's in the batch, else as varint (length + 1) and the bytes.
// Every batch is stored with an XXH3 checksum of its bytes.
#pragma once

#include "journal/journal.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace batchproc::journal_codec {

using Rows = std::unordered_map<std::string, JournalRow>;

// Packs entries into one batch.
class BatchWriter {
public:
    // A job's whole row: replaces whatever the key had.
    void add_row(const JournalRow &row);
    // A job starting: status "running", run_id and started_unix_ns set, the rest of the key's
    // row kept (a key never seen gets a row of defaults).
    void add_running(const std::string &key, const std::string &run_id, int64_t started_unix_ns);

    size_t entries() const { return entries_; }
    // The packed batch so far.
    std::string_view data() const { return std::string_view(buffer_.data(), size_); }
    // Empties the writer, keeping its buffer for the next batch.
    void clear();

private:
    char *reserve(size_t bytes); // room for `bytes` more at the end; returns where they go

    std::string buffer_; // data() is its first size_ bytes
    size_t size_ = 0;
    size_t entries_ = 0;
    std::string last_recipe_, last_run_id_; // of the batch's previous entry
};

// Replays a batch of `entries` entries onto `rows`. Throws std::runtime_error when the data
// does not hold exactly that many well-formed entries.
void apply_batch(std::string_view data, size_t entries, Rows &rows);

// The checksum stored beside each batch (XXH3, 64 bits, as a signed integer for SQLite):
// a batch is decoded only when it matches.
int64_t checksum(std::string_view data);

} // namespace batchproc::journal_codec
