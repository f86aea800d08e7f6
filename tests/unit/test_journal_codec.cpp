#include "journal/journal_codec.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>
#include <string>

using namespace batchproc;
using namespace batchproc::journal_codec;

namespace {

JournalRow row_with(const std::string &key, const std::string &recipe, const std::string &run_id) {
    JournalRow row;
    row.key = key;
    row.recipe = recipe;
    row.run_id = run_id;
    row.status = "ok";
    row.input.exists = true;
    row.input.size = std::numeric_limits<uint64_t>::max();
    row.input.mtime_ns = std::numeric_limits<int64_t>::min();
    row.output.mtime_ns = std::numeric_limits<int64_t>::max();
    row.attempts = -1;
    row.ms = -0.0;
    return row;
}

Rows decode(const BatchWriter &w) {
    Rows rows;
    apply_batch(w.data(), w.entries(), rows);
    return rows;
}

} // namespace

// The recipe and run id are written once and then as "same as before": a change, and a
// change back, must both come through.
TEST(JournalCodec, RepeatedAndChangingRecipesAndRunIdsComeBackAsWritten) {
    BatchWriter w;
    w.add_row(row_with("a", "r1", "run-1"));
    w.add_row(row_with("b", "r1", "run-1"));
    w.add_row(row_with("c", "r2", "run-1"));
    w.add_row(row_with("d", "r1", "run-2"));
    w.add_row(row_with("e", "", ""));
    w.add_row(row_with("f", "r1", "run-2"));
    const Rows rows = decode(w);
    ASSERT_EQ(rows.size(), 6u);
    EXPECT_EQ(rows.at("b").recipe, "r1");
    EXPECT_EQ(rows.at("c").recipe, "r2");
    EXPECT_EQ(rows.at("d").recipe, "r1");
    EXPECT_EQ(rows.at("d").run_id, "run-2");
    EXPECT_EQ(rows.at("e").recipe, "");
    EXPECT_EQ(rows.at("e").run_id, "");
    EXPECT_EQ(rows.at("f").recipe, "r1");
    EXPECT_EQ(rows.at("f").run_id, "run-2");
    EXPECT_EQ(rows.at("a").input.size, std::numeric_limits<uint64_t>::max());
    EXPECT_EQ(rows.at("a").input.mtime_ns, std::numeric_limits<int64_t>::min());
    EXPECT_EQ(rows.at("a").output.mtime_ns, std::numeric_limits<int64_t>::max());
    EXPECT_EQ(rows.at("a").attempts, -1);
}

TEST(JournalCodec, RowsOfSeveralOutputsKeepEveryPathAndIdentity) {
    BatchWriter w;
    JournalRow row = row_with("a", "r1", "run-1");
    row.output_path = "/out/web/a.webp";
    row.more_outputs = {{"/out/srcset/a-800w.jpg", {}}, {"/out/thumbs/a.jpg", {}}};
    row.more_outputs[0].identity.exists = true;
    row.more_outputs[0].identity.size = std::numeric_limits<uint64_t>::max();
    row.more_outputs[1].identity.mtime_ns = std::numeric_limits<int64_t>::min();
    row.more_outputs[1].identity.content_hash = "abc";
    w.add_row(row);
    w.add_row(row_with("b", "r1", "run-1")); // one output: the short kind, after a long one
    const Rows rows = decode(w);
    ASSERT_EQ(rows.size(), 2u);
    const JournalRow &a = rows.at("a");
    EXPECT_EQ(a.recipe, "r1");
    EXPECT_EQ(a.output_path, "/out/web/a.webp");
    ASSERT_EQ(a.more_outputs.size(), 2u);
    EXPECT_EQ(a.more_outputs[0].path, "/out/srcset/a-800w.jpg");
    EXPECT_TRUE(a.more_outputs[0].identity.exists);
    EXPECT_EQ(a.more_outputs[0].identity.size, std::numeric_limits<uint64_t>::max());
    EXPECT_EQ(a.more_outputs[1].path, "/out/thumbs/a.jpg");
    EXPECT_EQ(a.more_outputs[1].identity.mtime_ns, std::numeric_limits<int64_t>::min());
    EXPECT_EQ(a.more_outputs[1].identity.content_hash, "abc");
    EXPECT_TRUE(rows.at("b").more_outputs.empty());
    EXPECT_EQ(rows.at("b").recipe, "r1");
    // Cut inside the list of outputs: refused.
    Rows cut;
    EXPECT_THROW(apply_batch(w.data().substr(0, w.data().size() / 2), 1, cut), std::runtime_error);
}

TEST(JournalCodec, ARunningMarkKeepsTheRowAndALaterRowReplacesIt) {
    BatchWriter w;
    JournalRow done = row_with("a", "r1", "run-1");
    done.metrics_json = "{\"w\": 3}";
    w.add_row(done);
    w.add_running("a", "run-2", 42);
    w.add_running("new", "run-2", 43);
    Rows rows = decode(w);
    EXPECT_EQ(rows.at("a").status, "running");
    EXPECT_EQ(rows.at("a").run_id, "run-2");
    EXPECT_EQ(rows.at("a").started_unix_ns, 42);
    EXPECT_EQ(rows.at("a").recipe, "r1");
    EXPECT_EQ(rows.at("a").metrics_json, "{\"w\": 3}");
    EXPECT_EQ(rows.at("new").status, "running");
    EXPECT_EQ(rows.at("new").run_id, "run-2");

    w.clear();
    w.add_row(row_with("a", "r3", "run-3"));
    apply_batch(w.data(), w.entries(), rows);
    EXPECT_EQ(rows.at("a").status, "ok");
    EXPECT_EQ(rows.at("a").recipe, "r3");
}

TEST(JournalCodec, ABatchThatIsCutShortOrTooLongOrOfAnUnknownKindIsRefused) {
    BatchWriter w;
    w.add_row(row_with("a", "r1", "run-1"));
    w.add_row(row_with("b", "r1", "run-1"));
    const std::string data(w.data());
    Rows rows;
    for (size_t cut = 0; cut < data.size(); ++cut)
        EXPECT_THROW(apply_batch(std::string_view(data).substr(0, cut), 2, rows), std::runtime_error) << cut;
    EXPECT_THROW(apply_batch(data, 1, rows), std::runtime_error);
    EXPECT_THROW(apply_batch(data + "x", 2, rows), std::runtime_error);
    EXPECT_THROW(apply_batch(std::string("\x07", 1), 1, rows), std::runtime_error);
    EXPECT_NO_THROW(apply_batch(data, 2, rows));
    EXPECT_NE(checksum(data), checksum(data.substr(1)));
}
