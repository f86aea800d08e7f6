#include "journal/journal_codec.hpp"

#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace batchproc::journal_codec {

namespace {

enum class Kind : uint8_t { row = 1, running = 2, row_with_outputs = 3 };

// Writes an entry into space reserved beforehand: at most kMaxFieldBytes per field besides
// the strings' bytes.
class Packer {
public:
    static constexpr size_t kMaxFieldBytes = 10; // a 64-bit varint; a double takes 8

    explicit Packer(char *p) : start_(p), p_(p) {}
    size_t written() const { return static_cast<size_t>(p_ - start_); }

    void byte(uint8_t b) { *p_++ = static_cast<char>(b); }
    void varint(uint64_t v) {
        while (v >= 0x80) {
            *p_++ = static_cast<char>((v & 0x7f) | 0x80);
            v >>= 7;
        }
        *p_++ = static_cast<char>(v);
    }
    void signed_varint(int64_t v) { varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }
    void raw(const std::string &s) {
        std::memcpy(p_, s.data(), s.size());
        p_ += s.size();
    }
    void bytes(const std::string &s) {
        varint(s.size());
        raw(s);
    }
    // Varint 0 when `s` equals `last`, else its length + 1 and its bytes (then `last` = s).
    void repeatable(const std::string &s, std::string &last) {
        if (s == last) {
            byte(0);
            return;
        }
        varint(s.size() + 1);
        raw(s);
        last = s;
    }
    void float64(double v) {
        uint64_t bits = 0;
        std::memcpy(&bits, &v, sizeof bits);
        for (int i = 0; i < 8; ++i) *p_++ = static_cast<char>((bits >> (8 * i)) & 0xff);
    }
    void identity(const FileIdentity &id) {
        byte(id.exists ? 1 : 0);
        varint(id.size);
        signed_varint(id.mtime_ns);
        varint(id.dev);
        varint(id.ino);
        bytes(id.content_hash);
    }

private:
    char *start_;
    char *p_;
};

// Reads a batch, refusing to read past its end.
class Reader {
public:
    explicit Reader(std::string_view data) : data_(data) {}

    bool at_end() const { return pos_ == data_.size(); }

    uint8_t byte() {
        need(1);
        return static_cast<uint8_t>(data_[pos_++]);
    }

    uint64_t varint() {
        uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            const uint8_t b = byte();
            v |= static_cast<uint64_t>(b & 0x7f) << shift;
            if ((b & 0x80) == 0) return v;
        }
        throw std::runtime_error("a number runs over 10 bytes");
    }

    int64_t signed_varint() {
        const uint64_t z = varint();
        return static_cast<int64_t>((z >> 1) ^ (~(z & 1) + 1));
    }

    int32_t int32() {
        const int64_t v = signed_varint();
        if (v < INT32_MIN || v > INT32_MAX) throw std::runtime_error("a count is out of range");
        return static_cast<int32_t>(v);
    }

    std::string bytes() {
        const uint64_t n = varint();
        need(n);
        std::string s(data_.substr(pos_, static_cast<size_t>(n)));
        pos_ += static_cast<size_t>(n);
        return s;
    }

    // See Packer::repeatable.
    std::string repeatable(std::string &last) {
        const uint64_t n = varint();
        if (n == 0) return last;
        need(n - 1);
        last.assign(data_.data() + pos_, static_cast<size_t>(n - 1));
        pos_ += static_cast<size_t>(n - 1);
        return last;
    }

    double float64() {
        need(8);
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits |= static_cast<uint64_t>(static_cast<uint8_t>(data_[pos_ + i])) << (8 * i);
        pos_ += 8;
        double v = 0;
        std::memcpy(&v, &bits, sizeof v);
        return v;
    }

    FileIdentity identity() {
        FileIdentity id;
        id.exists = byte() != 0;
        id.size = varint();
        id.mtime_ns = signed_varint();
        id.dev = varint();
        id.ino = varint();
        id.content_hash = bytes();
        return id;
    }

private:
    void need(uint64_t n) const {
        if (n > data_.size() - pos_) throw std::runtime_error("it ends inside an entry");
    }

    std::string_view data_;
    size_t pos_ = 0;
};

} // namespace

char *BatchWriter::reserve(size_t bytes) {
    if (buffer_.size() - size_ < bytes) buffer_.resize(std::max(2 * buffer_.size(), size_ + bytes));
    return buffer_.data() + size_;
}

void BatchWriter::add_row(const JournalRow &r) {
    size_t strings = r.key.size() + r.input.content_hash.size() + r.recipe.size() + r.output_path.size() +
                     r.output.content_hash.size() + r.status.size() + r.error.size() + r.metrics_json.size() +
                     r.run_id.size();
    for (const JournalOutput &o : r.more_outputs) strings += o.path.size() + o.identity.content_hash.size();
    // 26 fields, and 7 per further output
    Packer out(reserve(strings + (32 + 8 * r.more_outputs.size()) * Packer::kMaxFieldBytes));
    out.byte(static_cast<uint8_t>(r.more_outputs.empty() ? Kind::row : Kind::row_with_outputs));
    out.bytes(r.key);
    out.identity(r.input);
    out.repeatable(r.recipe, last_recipe_);
    out.bytes(r.output_path);
    out.identity(r.output);
    out.bytes(r.status);
    out.bytes(r.error);
    out.signed_varint(r.attempts);
    out.signed_varint(r.died_running);
    out.bytes(r.metrics_json);
    out.float64(r.ms);
    out.signed_varint(r.worker_pid);
    out.repeatable(r.run_id, last_run_id_);
    out.signed_varint(r.started_unix_ns);
    out.signed_varint(r.ended_unix_ns);
    if (!r.more_outputs.empty()) {
        out.varint(r.more_outputs.size());
        for (const JournalOutput &o : r.more_outputs) {
            out.bytes(o.path);
            out.identity(o.identity);
        }
    }
    size_ += out.written();
    ++entries_;
}

void BatchWriter::add_running(const std::string &key, const std::string &run_id, int64_t started_unix_ns) {
    Packer out(reserve(key.size() + run_id.size() + 4 * Packer::kMaxFieldBytes));
    out.byte(static_cast<uint8_t>(Kind::running));
    out.bytes(key);
    out.repeatable(run_id, last_run_id_);
    out.signed_varint(started_unix_ns);
    size_ += out.written();
    ++entries_;
}

void BatchWriter::clear() {
    size_ = 0;
    entries_ = 0;
    last_recipe_.clear();
    last_run_id_.clear();
}

void apply_batch(std::string_view data, size_t entries, Rows &rows) {
    Reader in(data);
    std::string last_recipe, last_run_id;
    for (size_t i = 0; i < entries; ++i) {
        const uint8_t kind = in.byte();
        if (kind == static_cast<uint8_t>(Kind::row) || kind == static_cast<uint8_t>(Kind::row_with_outputs)) {
            JournalRow r;
            r.key = in.bytes();
            r.input = in.identity();
            r.recipe = in.repeatable(last_recipe);
            r.output_path = in.bytes();
            r.output = in.identity();
            r.status = in.bytes();
            r.error = in.bytes();
            r.attempts = in.int32();
            r.died_running = in.int32();
            r.metrics_json = in.bytes();
            r.ms = in.float64();
            r.worker_pid = in.signed_varint();
            r.run_id = in.repeatable(last_run_id);
            r.started_unix_ns = in.signed_varint();
            r.ended_unix_ns = in.signed_varint();
            if (kind == static_cast<uint8_t>(Kind::row_with_outputs)) {
                const uint64_t count = in.varint();
                if (count == 0 || count > data.size()) throw std::runtime_error("it counts " + std::to_string(count) + " more outputs");
                r.more_outputs.resize(count);
                for (JournalOutput &o : r.more_outputs) {
                    o.path = in.bytes();
                    o.identity = in.identity();
                }
            }
            std::string key = r.key;
            rows.insert_or_assign(std::move(key), std::move(r));
        } else if (kind == static_cast<uint8_t>(Kind::running)) {
            std::string key = in.bytes();
            std::string run_id = in.repeatable(last_run_id);
            const int64_t started = in.signed_varint();
            JournalRow &row = rows[key];
            row.key = std::move(key);
            row.status = "running";
            row.run_id = std::move(run_id);
            row.started_unix_ns = started;
        } else {
            throw std::runtime_error("entry " + std::to_string(i + 1) + " has an unknown kind " + std::to_string(kind));
        }
    }
    if (!in.at_end()) throw std::runtime_error("it holds more than its " + std::to_string(entries) + " entries");
}

int64_t checksum(std::string_view data) {
    return static_cast<int64_t>(XXH3_64bits(data.data(), data.size()));
}

} // namespace batchproc::journal_codec
