// Value<T> and Array<T>: plain data in shared memory (Python's multiprocessing.Value and
// Array), with an RLock of their own unless created with lock=false (Python's RawValue,
// RawArray) or given one to share.
//
//   Value<int> counter(0);
//   { std::lock_guard guard(counter.get_lock()); counter.value() += 1; }
//
// value(), operator[], data() and the iterators touch the shared memory directly: hold
// get_lock() around a read-modify-write, as in Python (where `v.value += 1` is not atomic
// either). get()/set() and to_vector() take the lock themselves for one access.
// T must be trivially copyable: the bytes are all that is shared, and every process must
// see the same type (a T with pointers would point into one process only).
#pragma once

#include "batchproc/mp/detail/shared_object.hpp"
#include "batchproc/mp/lock.hpp"

#include <cereal/cereal.hpp>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <mutex>
#include <new>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

namespace batchproc::mp {

namespace detail {

struct ValuesHeader {
    ObjectHeader object;
    std::uint64_t element_size;
    std::uint64_t element_align;
    std::uint64_t count;
    std::uint64_t data_offset; // from the object's start
    std::uint64_t lock_offset; // from the object's start; 0 when it has no lock of its own
};

// A new block with `count` elements and, when `own_lock`, an RLock of its own.
ObjectRef create_values(Kind kind, std::size_t element_size, std::size_t element_align, std::size_t count,
                        bool own_lock);
// The RLock of a block made by create_values with own_lock.
RLock own_values_lock(const ObjectRef &ref);
// Checks that an attached Value or Array holds elements of this size and alignment.
void check_values(const ObjectRef &ref, std::size_t element_size, std::size_t element_align);
[[noreturn]] void throw_no_lock(const char *what);

inline const ValuesHeader &values_header(const ObjectRef &ref) noexcept {
    return *static_cast<const ValuesHeader *>(ref.address());
}

template <class T>
T *values_data(const ObjectRef &ref) noexcept {
    return std::launder(reinterpret_cast<T *>(static_cast<std::byte *>(ref.address()) + values_header(ref).data_offset));
}

template <class Archive>
void save_values_lock(Archive &archive, const std::optional<RLock> &lock) {
    archive(cereal::make_nvp("has_lock", lock.has_value()));
    if (lock) archive(cereal::make_nvp("lock", *lock));
}

template <class Archive>
std::optional<RLock> load_values_lock(Archive &archive) {
    bool has_lock = false;
    archive(cereal::make_nvp("has_lock", has_lock));
    if (!has_lock) return std::nullopt;
    return RLock(AttachTag{}, load_ref(archive, {Kind::rlock}));
}

} // namespace detail

template <class T>
class Value {
    static_assert(std::is_trivially_copyable_v<T>, "Value<T> needs a trivially copyable T");

public:
    // A new value holding T{}, with an RLock of its own.
    Value() : Value(T{}) {}
    // A new value holding `initial`, with an RLock of its own unless `lock` is false.
    explicit Value(const T &initial, bool lock = true)
        : ref_(detail::create_values(detail::Kind::value, sizeof(T), alignof(T), 1, lock)) {
        data_ = ::new (static_cast<void *>(detail::values_data<T>(ref_))) T(initial);
        if (lock) lock_ = detail::own_values_lock(ref_);
    }
    // A new value synchronised by `lock` (shared with other objects).
    Value(const T &initial, RLock lock)
        : ref_(detail::create_values(detail::Kind::value, sizeof(T), alignof(T), 1, false)), lock_(std::move(lock)) {
        data_ = ::new (static_cast<void *>(detail::values_data<T>(ref_))) T(initial);
    }

    // The shared object itself, unsynchronised.
    T &value() noexcept { return *data_; }
    const T &value() const noexcept { return *data_; }
    // One read or write under the lock (if any), as Python's `v.value`.
    T get() const {
        if (!lock_) return *data_;
        std::lock_guard guard(*lock_);
        return *data_;
    }
    void set(const T &v) {
        if (!lock_) {
            *data_ = v;
            return;
        }
        std::lock_guard guard(*lock_);
        *data_ = v;
    }

    // Throws std::logic_error for a value made with lock=false.
    RLock &get_lock() const {
        if (!lock_) detail::throw_no_lock("Value");
        return *lock_;
    }
    bool has_lock() const noexcept { return lock_.has_value(); }

    template <class Archive>
    void save(Archive &archive) const {
        detail::save_ref(archive, ref_);
        detail::save_values_lock(archive, lock_);
    }
    template <class Archive>
    void load(Archive &archive) {
        detail::ObjectRef ref = detail::load_ref(archive, {detail::Kind::value});
        detail::check_values(ref, sizeof(T), alignof(T));
        std::optional<RLock> lock = detail::load_values_lock(archive);
        data_ = detail::values_data<T>(ref);
        ref_ = std::move(ref);
        lock_ = std::move(lock);
    }

private:
    detail::ObjectRef ref_;
    T *data_ = nullptr;
    mutable std::optional<RLock> lock_;
};

template <class T>
class Array {
    static_assert(std::is_trivially_copyable_v<T>, "Array<T> needs a trivially copyable T");

public:
    using value_type = T;
    using iterator = T *;
    using const_iterator = const T *;

    // `size` value-initialised elements (zeros for arithmetic types, as Python).
    explicit Array(std::size_t size, bool lock = true) : Array(size, lock, std::nullopt) {
        for (std::size_t i = 0; i < size; ++i) ::new (static_cast<void *>(data_ + i)) T();
    }
    Array(std::initializer_list<T> values, bool lock = true) : Array(values.size(), lock, std::nullopt) {
        copy_in(values.begin(), values.end());
    }
    explicit Array(const std::vector<T> &values, bool lock = true) : Array(values.size(), lock, std::nullopt) {
        copy_in(values.begin(), values.end());
    }
    // Synchronised by `lock` (shared with other objects).
    Array(const std::vector<T> &values, RLock lock) : Array(values.size(), false, std::move(lock)) {
        copy_in(values.begin(), values.end());
    }

    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    T *data() noexcept { return data_; }
    const T *data() const noexcept { return data_; }
    T &operator[](std::size_t i) noexcept { return data_[i]; }
    const T &operator[](std::size_t i) const noexcept { return data_[i]; }
    T &at(std::size_t i) {
        if (i >= size_) throw std::out_of_range("Array::at: index out of range");
        return data_[i];
    }
    const T &at(std::size_t i) const {
        if (i >= size_) throw std::out_of_range("Array::at: index out of range");
        return data_[i];
    }
    iterator begin() noexcept { return data_; }
    iterator end() noexcept { return data_ + size_; }
    const_iterator begin() const noexcept { return data_; }
    const_iterator end() const noexcept { return data_ + size_; }

    // A copy of every element, taken under the lock (if any), as Python's arr[:].
    std::vector<T> to_vector() const {
        if (!lock_) return std::vector<T>(begin(), end());
        std::lock_guard guard(*lock_);
        return std::vector<T>(begin(), end());
    }

    RLock &get_lock() const {
        if (!lock_) detail::throw_no_lock("Array");
        return *lock_;
    }
    bool has_lock() const noexcept { return lock_.has_value(); }

    template <class Archive>
    void save(Archive &archive) const {
        detail::save_ref(archive, ref_);
        detail::save_values_lock(archive, lock_);
    }
    template <class Archive>
    void load(Archive &archive) {
        detail::ObjectRef ref = detail::load_ref(archive, {detail::Kind::array});
        detail::check_values(ref, sizeof(T), alignof(T));
        std::optional<RLock> lock = detail::load_values_lock(archive);
        data_ = detail::values_data<T>(ref);
        size_ = static_cast<std::size_t>(detail::values_header(ref).count);
        ref_ = std::move(ref);
        lock_ = std::move(lock);
    }

private:
    Array(std::size_t size, bool own_lock, std::optional<RLock> lock)
        : ref_(detail::create_values(detail::Kind::array, sizeof(T), alignof(T), size, own_lock)),
          data_(detail::values_data<T>(ref_)), size_(size), lock_(std::move(lock)) {
        if (own_lock) lock_ = detail::own_values_lock(ref_);
    }
    template <class It>
    void copy_in(It first, It last) {
        for (T *out = data_; first != last; ++first, ++out) ::new (static_cast<void *>(out)) T(*first);
    }

    detail::ObjectRef ref_;
    T *data_ = nullptr;
    std::size_t size_ = 0;
    mutable std::optional<RLock> lock_;
};

} // namespace batchproc::mp
