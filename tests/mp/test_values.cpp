// Value<T> and Array<T>: shared across fork and exec, synchronised by their own RLock
// (or none, or a shared one), and what a holder killed mid-update leaves.
#include "batchproc/mp/values.hpp"
#include "mp_test_support.hpp"

#include <csignal>
#include <mutex>
#include <numeric>
#include <stdexcept>

using namespace batchproc::mp;
using mp_test::fork_child;
using mp_test::MpTest;
using mp_test::wait_exit;

namespace {

constexpr int kIncrements = 10000;

struct Point {
    double x;
    double y;
    int tag;
};

int add_under_lock(Value<int> &counter, int times) {
    for (int i = 0; i < times; ++i) {
        std::lock_guard guard(counter.get_lock());
        counter.value() += 1;
    }
    return 0;
}

int run_child_role(const std::string &role, const std::string &data) {
    if (role == "increment") {
        Value<int> counter;
        mp_test::deserialize(data, counter);
        return add_under_lock(counter, kIncrements);
    }
    if (role == "squares") {
        Array<long> squares(1);
        mp_test::deserialize(data, squares);
        if (squares.size() != 10) return 2;
        std::lock_guard guard(squares.get_lock());
        for (size_t i = 0; i < squares.size(); ++i) squares[i] = static_cast<long>(i * i);
        return 0;
    }
    return 97;
}

} // namespace

using ValueTest = MpTest;
using ArrayTest = MpTest;

TEST_F(ValueTest, TwoProcessesIncrementingUnderGetLockCountExactly) {
    Value<int> counter(0);
    const pid_t a = fork_child([counter]() mutable { return add_under_lock(counter, kIncrements); });
    const pid_t b = fork_child([counter]() mutable { return add_under_lock(counter, kIncrements); });
    EXPECT_EQ(wait_exit(a), 0);
    EXPECT_EQ(wait_exit(b), 0);
    EXPECT_EQ(counter.get(), 2 * kIncrements);
}

TEST_F(ValueTest, AnExecdChildIncrementsTheSameValueUnderTheSameLock) {
    Value<int> counter(0);
    const pid_t child = mp_test::spawn_self("increment", mp_test::serialize(counter));
    ASSERT_GT(child, 0);
    add_under_lock(counter, kIncrements);
    EXPECT_EQ(wait_exit(child), 0);
    EXPECT_EQ(counter.get(), 2 * kIncrements);
}

TEST_F(ValueTest, HoldsAnyTriviallyCopyableType) {
    Value<Point> point(Point{1.5, -2.0, 7});
    EXPECT_EQ(point.get().tag, 7);
    const pid_t child = fork_child([point]() mutable {
        std::lock_guard guard(point.get_lock());
        point.value().x += 1.0;
        point.value().tag = 8;
        return 0;
    });
    EXPECT_EQ(wait_exit(child), 0);
    EXPECT_DOUBLE_EQ(point.get().x, 2.5);
    EXPECT_DOUBLE_EQ(point.get().y, -2.0);
    EXPECT_EQ(point.get().tag, 8);
    point.set(Point{0, 0, 1});
    EXPECT_EQ(point.value().tag, 1);
}

TEST_F(ValueTest, ARawValueHasNoLock) {
    Value<double> raw(3.25, false);
    EXPECT_FALSE(raw.has_lock());
    EXPECT_THROW(raw.get_lock(), std::logic_error);
    raw.set(4.5);
    EXPECT_DOUBLE_EQ(raw.get(), 4.5);
    Value<double> copy;
    mp_test::deserialize(mp_test::serialize(raw), copy);
    EXPECT_FALSE(copy.has_lock());
    copy.value() = 9;
    EXPECT_DOUBLE_EQ(raw.value(), 9);
}

TEST_F(ValueTest, ValuesCanShareOneLock) {
    RLock lock;
    Value<int> a(1, lock);
    Value<int> b(2, lock);
    std::lock_guard guard(a.get_lock());
    EXPECT_TRUE(b.get_lock().is_owned());
    EXPECT_TRUE(lock.is_owned());
    EXPECT_EQ(b.get(), 2); // the RLock is taken again by get()
}

TEST_F(ValueTest, LoadingAsAnotherTypeFails) {
    Value<double> d(1.0);
    Value<int> i(0);
    EXPECT_THROW(mp_test::deserialize(mp_test::serialize(d), i), std::runtime_error);
    Array<double> array(3);
    Value<double> not_an_array;
    EXPECT_THROW(mp_test::deserialize(mp_test::serialize(array), not_an_array), std::runtime_error);
}

TEST_F(ValueTest, AHolderKilledMidUpdateLeavesTheLockUsableAndFlagged) {
    Value<Point> point(Point{0, 0, 0});
    const pid_t child = fork_child([point]() mutable {
        point.get_lock().acquire();
        point.value().x = 1; // half of an update: y was to follow
        raise(SIGKILL);
        return 0;
    });
    EXPECT_EQ(wait_exit(child), -SIGKILL);
    std::unique_lock guard(point.get_lock());
    EXPECT_TRUE(point.get_lock().repaired()) << "the new holder must be able to tell";
    EXPECT_EQ(point.get_lock().repairs(), 1u);
    EXPECT_DOUBLE_EQ(point.value().x, 1.0);
    EXPECT_DOUBLE_EQ(point.value().y, 0.0);
}

TEST_F(ArrayTest, StartsZeroedOrFromValuesAndIsIterable) {
    Array<int> zeros(5);
    EXPECT_EQ(zeros.size(), 5u);
    EXPECT_EQ(zeros.to_vector(), std::vector<int>(5, 0));
    Array<int> values{1, 2, 3, 4};
    EXPECT_EQ(std::accumulate(values.begin(), values.end(), 0), 10);
    values[0] = 10;
    EXPECT_EQ(values.at(0), 10);
    EXPECT_THROW(values.at(4), std::out_of_range);
    Array<double> from_vector(std::vector<double>{0.5, 1.5}, false);
    EXPECT_FALSE(from_vector.has_lock());
    EXPECT_EQ(from_vector.to_vector(), (std::vector<double>{0.5, 1.5}));
    Array<char> empty(0);
    EXPECT_TRUE(empty.empty());
    EXPECT_EQ(empty.begin(), empty.end());
}

TEST_F(ArrayTest, ForkedChildrenFillTheirOwnParts) {
    Array<int> array(100);
    std::vector<pid_t> children;
    for (int c = 0; c < 4; ++c) {
        children.push_back(fork_child([array, c]() mutable {
            for (int i = c * 25; i < (c + 1) * 25; ++i) array[static_cast<size_t>(i)] = i * 2;
            return 0;
        }));
    }
    for (pid_t child : children) EXPECT_EQ(wait_exit(child), 0);
    const std::vector<int> seen = array.to_vector();
    for (int i = 0; i < 100; ++i) ASSERT_EQ(seen[static_cast<size_t>(i)], i * 2);
}

TEST_F(ArrayTest, AnExecdChildFillsItThroughItsSerializedForm) {
    Array<long> squares(10);
    const pid_t child = mp_test::spawn_self("squares", mp_test::serialize(squares));
    ASSERT_GT(child, 0);
    EXPECT_EQ(wait_exit(child), 0);
    for (size_t i = 0; i < 10; ++i) EXPECT_EQ(squares[i], static_cast<long>(i * i));
}

TEST_F(ArrayTest, ElementsAndTheLockSitOnTheirOwnCacheLines) {
    Array<char> bytes(3);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(bytes.data()) % 64, 0u);
}

namespace {
const bool child_dispatched = mp_test::dispatch_child(&run_child_role);
}
