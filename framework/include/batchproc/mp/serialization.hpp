// Serialization of task arguments, task results and messages, with cereal's binary archives.
//
// Standard types (strings, containers, tuples, pairs, optional, variant, smart pointers,
// chrono durations, complex) work as they are; a user type needs one function:
//
//     struct Point { double x, y; template <class A> void serialize(A &ar) { ar(x, y); } };
//
// A type that cannot be serialized (a raw pointer, a std::function, a type without a
// serialize function) is a compile-time error wherever it would have to cross a process
// boundary: at BATCHPROC_MP_TASK for a task's parameters and result, at Queue<T>::put and
// Connection<T>::send for messages.
#pragma once

#include "batchproc/mp/errors.hpp"

#include <cereal/archives/binary.hpp>
#include <cereal/types/array.hpp>
#include <cereal/types/bitset.hpp>
#include <cereal/types/chrono.hpp>
#include <cereal/types/complex.hpp>
#include <cereal/types/deque.hpp>
#include <cereal/types/list.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/memory.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/set.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/tuple.hpp>
#include <cereal/types/unordered_map.hpp>
#include <cereal/types/unordered_set.hpp>
#include <cereal/types/utility.hpp>
#include <cereal/types/variant.hpp>
#include <cereal/types/vector.hpp>

#include <cstdint>
#include <istream>
#include <ostream>
#include <streambuf>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace batchproc::mp {

// True when T can be written and read back with cereal's binary archives.
template <class T>
inline constexpr bool is_serializable_v =
    cereal::traits::is_output_serializable<T, cereal::BinaryOutputArchive>::value &&
    cereal::traits::is_input_serializable<T, cereal::BinaryInputArchive>::value;

namespace detail {

template <class T>
constexpr void require_serializable() {
    static_assert(is_serializable_v<T>,
                  "batchproc::mp: this type cannot be serialized with cereal. Give it a "
                  "`template <class Archive> void serialize(Archive &ar) { ar(field, ...); }` member "
                  "(or a free serialize function), include <batchproc/mp/serialization.hpp> so that the "
                  "standard types are known, or run it with the fork start method, which copies the "
                  "process instead of serializing");
}

// An output stream buffer that appends to a std::string (no copy at the end).
class StringSink final : public std::streambuf {
public:
    explicit StringSink(std::string &out) : out_(out) {}

protected:
    std::streamsize xsputn(const char *s, std::streamsize n) override {
        out_.append(s, static_cast<size_t>(n));
        return n;
    }
    int_type overflow(int_type c) override {
        if (!traits_type::eq_int_type(c, traits_type::eof())) out_.push_back(traits_type::to_char_type(c));
        return traits_type::not_eof(c);
    }

private:
    std::string &out_;
};

// An input stream buffer over bytes in memory (no copy).
class MemorySource final : public std::streambuf {
public:
    MemorySource(const char *data, size_t size) {
        char *p = const_cast<char *>(data); // read-only use: the get area is never written
        setg(p, p, p + size);
    }
};

// Queue and Connection hold file descriptors. When the arguments of a spawn or forkserver
// child are serialized, their descriptors are collected in a list that is handed to the
// child (inherited across exec, or sent with SCM_RIGHTS); the archive holds each one's index
// in that list. Outside a child's start there is no list, and serializing them is an error:
// like Python's, these objects are shared by inheritance, not sent through a queue.
class FdExport {
public:
    explicit FdExport(std::vector<int> &fds);
    ~FdExport();
    FdExport(const FdExport &) = delete;
    FdExport &operator=(const FdExport &) = delete;

private:
    std::vector<int> *previous_;
};

// In the child: the descriptors it was handed, in the parent's order. The list is not
// owned: release_imported_fds closes them once the arguments are built.
class FdImport {
public:
    explicit FdImport(std::vector<int> &fds);
    ~FdImport();
    FdImport(const FdImport &) = delete;
    FdImport &operator=(const FdImport &) = delete;

private:
    std::vector<int> *previous_;
};

// The index of `fd` in the list being exported (added once). `what` names the object for
// the error when no export is under way ("a Queue", "a Connection").
std::uint32_t export_fd(int fd, const char *what);
// A new close-on-exec duplicate, owned by the caller, of the descriptor at `index` in the
// list being imported.
int import_fd(std::uint32_t index);
// Closes the imported list's descriptors (the objects built from them hold duplicates), so
// that a child that closes its Connection really closes it. No-op without an import.
void release_imported_fds();

} // namespace detail

// Appends the binary serialization of `value` to `out`.
template <class T>
void dump_to(std::string &out, const T &value) {
    detail::require_serializable<T>();
    detail::StringSink sink(out);
    std::ostream os(&sink);
    cereal::BinaryOutputArchive archive(os);
    archive(value);
}

template <class T>
std::string dumps(const T &value) {
    std::string out;
    dump_to(out, value);
    return out;
}

// Reads a T from bytes written by dumps<T>. Throws cereal::Exception on truncated data.
template <class T>
void loads_into(std::string_view data, T &value) {
    detail::require_serializable<T>();
    detail::MemorySource source(data.data(), data.size());
    std::istream is(&source);
    cereal::BinaryInputArchive archive(is);
    archive(value);
}

template <class T>
T loads(std::string_view data) {
    T value{};
    loads_into(data, value);
    return value;
}

} // namespace batchproc::mp
