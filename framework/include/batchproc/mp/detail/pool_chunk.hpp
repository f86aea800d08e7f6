// How a pool worker runs a chunk of tasks: the argument tuples of `count` tasks follow each
// other in one cereal archive; each task's outcome is appended to the worker's reply as a
// status byte and the result (0) or the exception's type and message (1). One archive per
// chunk on each side, not one per task: that is what makes trivial tasks cheap. Internal to
// batchproc::mp (the pool and the task registry use it).
#pragma once

#include "batchproc/mp/errors.hpp"
#include "batchproc/mp/serialization.hpp"
#include "batchproc/mp/task.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <streambuf>
#include <functional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace batchproc::mp::detail {

// The worker's side of a chunk (implemented in the library's pool worker).
class ChunkHooks {
public:
    virtual ~ChunkHooks() = default;
    // The reply being built; results are appended to it.
    virtual std::string &out() = 0;
    // Called before task `index` of the chunk runs: publishes which task runs (for crash and
    // timeout attribution). True when the results gathered so far should be sent first:
    // then send_before(index) is called, with out() complete.
    virtual bool before_task(std::uint32_t index) = 0;
    virtual void send_before(std::uint32_t index) = 0;
};

// The type name and message of the exception being handled (demangled).
void describe_current_exception(std::string &type, std::string &message);

inline constexpr std::uint8_t kTaskOk = 0;
inline constexpr std::uint8_t kTaskRaised = 1;

// An input buffer over bytes in memory whose bulk reads are one memcpy (cereal reads each
// value with sgetn; the generic xsgetn costs more than the task for trivial tasks).
class ChunkSource final : public std::streambuf {
public:
    ChunkSource(const char *data, std::size_t size) {
        char *p = const_cast<char *>(data); // read-only use
        setg(p, p, p + size);
    }

    // Bytes read so far.
    std::size_t consumed() const { return static_cast<std::size_t>(gptr() - eback()); }

protected:
    std::streamsize xsgetn(char *s, std::streamsize n) override {
        const std::streamsize left = egptr() - gptr();
        if (n > left) n = left;
        std::memcpy(s, gptr(), static_cast<std::size_t>(n));
        gbump(static_cast<int>(n));
        return n;
    }
};

// An output buffer appending to a std::string through a put area over its spare capacity,
// so that a value's bytes are one memcpy. finish() trims the string to what was written;
// nothing else may touch the string between construction (or resume()) and finish().
class ChunkSink final : public std::streambuf {
public:
    explicit ChunkSink(std::string &out) : out_(out) { resume(); }
    ~ChunkSink() override { finish(); }
    ChunkSink(const ChunkSink &) = delete;
    ChunkSink &operator=(const ChunkSink &) = delete;

    void finish() {
        if (pbase() == nullptr) return;
        out_.resize(static_cast<std::size_t>(pptr() - out_.data()));
        setp(nullptr, nullptr);
    }
    void resume() {
        setp(nullptr, nullptr);
        open(out_.size(), 0);
    }
    // Bytes in the string so far, the put area's included.
    std::size_t written() const { return pbase() == nullptr ? out_.size() : static_cast<std::size_t>(pptr() - out_.data()); }

protected:
    std::streamsize xsputn(const char *s, std::streamsize n) override {
        if (epptr() - pptr() < n) open(static_cast<std::size_t>(pptr() - out_.data()), static_cast<std::size_t>(n));
        std::memcpy(pptr(), s, static_cast<std::size_t>(n));
        pbump(static_cast<int>(n));
        return n;
    }
    int_type overflow(int_type c) override {
        if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
        const char ch = traits_type::to_char_type(c);
        xsputn(&ch, 1);
        return c;
    }

private:
    // A put area from `used` with room for at least `need` more bytes. The string is
    // resized (so zero-filled) a little at a time: 1 KiB at first, then half of what it holds.
    void open(std::size_t used, std::size_t need) {
        const std::size_t step = pbase() == nullptr ? 1024 : std::max<std::size_t>(1024, used / 2);
        out_.resize(used + std::max(need, step));
        setp(out_.data() + used, out_.data() + out_.size());
    }
    std::string &out_;
};

// Types whose cereal binary form is their bytes (arithmetic values, tuples of them): these
// skip the stream machinery, byte for byte the same on the wire.
template <class T>
struct IsRaw : std::is_arithmetic<T> {};
template <class... T>
struct IsRaw<std::tuple<T...>> : std::conjunction<std::is_arithmetic<T>...> {};
template <class T>
inline constexpr bool is_raw_v = IsRaw<T>::value;

template <class T>
constexpr std::size_t raw_size() {
    if constexpr (std::is_arithmetic_v<T>) return sizeof(T);
    else return std::apply([](auto... e) { return (std::size_t(0) + ... + sizeof(e)); }, T{});
}

template <class T>
void append_raw_value(std::string &out, const T &value) {
    if constexpr (std::is_arithmetic_v<T>) out.append(reinterpret_cast<const char *>(&value), sizeof value);
    else std::apply([&out](const auto &...e) { (out.append(reinterpret_cast<const char *>(&e), sizeof e), ...); }, value);
}

template <class T>
const char *read_raw_value(const char *p, T &value) {
    if constexpr (std::is_arithmetic_v<T>) {
        std::memcpy(&value, p, sizeof value);
        return p + sizeof value;
    } else {
        std::apply([&p](auto &...e) { ((std::memcpy(&e, p, sizeof e), p += sizeof e), ...); }, value);
        return p;
    }
}

// Appends a failed task's outcome (status, type, message) to `out`.
void append_failure(std::string &out, const std::string &type, const std::string &message);

template <class Tuple, class Invoke>
void run_raw_chunk(std::string_view arguments, std::uint32_t count, ChunkHooks &hooks, Invoke &&invoke) {
    std::string &out = hooks.out();
    const char *p = arguments.data();
    using R = decltype(invoke(std::declval<Tuple &>()));
    for (std::uint32_t i = 0; i < count; ++i) {
        Tuple args;
        p = read_raw_value(p, args);
        if (hooks.before_task(i)) hooks.send_before(i);
        try {
            if constexpr (std::is_void_v<R>) {
                invoke(args);
                out.push_back(static_cast<char>(kTaskOk));
            } else {
                const std::decay_t<R> result = invoke(args);
                char buffer[1 + sizeof(result)];
                buffer[0] = static_cast<char>(kTaskOk);
                std::memcpy(buffer + 1, &result, sizeof result);
                out.append(buffer, sizeof buffer);
            }
        } catch (const SystemExit &) {
            throw;
        } catch (...) {
            std::string type, message;
            describe_current_exception(type, message);
            append_failure(out, type, message);
        }
    }
}

// Runs `count` tasks: reads a Tuple for each and calls invoke(tuple&).
template <class Tuple, class Invoke>
void run_chunk(std::string_view arguments, std::uint32_t count, ChunkHooks &hooks, Invoke &&invoke) {
    using R = decltype(invoke(std::declval<Tuple &>()));
    if constexpr (is_raw_v<Tuple> && (std::is_void_v<R> || std::is_arithmetic_v<std::decay_t<R>>)) {
        run_raw_chunk<Tuple>(arguments, count, hooks, invoke);
        return;
    }
    ChunkSource source(arguments.data(), arguments.size());
    std::istream is(&source);
    cereal::BinaryInputArchive in(is);
    ChunkSink sink(hooks.out());
    std::ostream os(&sink);
    cereal::BinaryOutputArchive archive(os);
    for (std::uint32_t i = 0; i < count; ++i) {
        Tuple args;
        in(args);
        if (hooks.before_task(i)) {
            os.flush();
            sink.finish();
            hooks.send_before(i);
            sink.resume();
        }
        try {
            if constexpr (std::is_void_v<R>) {
                invoke(args);
                archive(kTaskOk);
            } else {
                std::decay_t<R> result = invoke(args);
                archive(kTaskOk);
                archive(result);
            }
        } catch (const SystemExit &) {
            throw; // ends the worker with its code, as in a Process
        } catch (...) {
            std::string type, message;
            describe_current_exception(type, message);
            archive(kTaskRaised, type, message);
        }
    }
}

// Calls a plain function with a stored tuple of its (decayed) parameter types.
template <class R, class... P, class Tuple>
decltype(auto) call_function(R (*fn)(P...), Tuple &args) {
    return std::apply([fn](auto &...a) -> R { return fn(pass_argument<P>(a)...); }, args);
}

// Calls any callable with a stored tuple, moving the arguments when it accepts rvalues.
template <class F, class Tuple>
decltype(auto) call_callable(F &fn, Tuple &args) {
    return std::apply(
        [&fn](auto &...a) -> decltype(auto) {
            if constexpr (std::is_invocable_v<F &, decltype(std::move(a))...>) return std::invoke(fn, std::move(a)...);
            else return std::invoke(fn, a...);
        },
        args);
}

template <class R, class... P>
void run_function_chunk(ErasedFunction function, std::string_view arguments, std::uint32_t count,
                        ChunkHooks &hooks) {
    auto fn = reinterpret_cast<R (*)(P...)>(function);
    run_chunk<std::tuple<std::decay_t<P>...>>(arguments, count, hooks,
                                              [fn](auto &args) -> R { return call_function(fn, args); });
}

} // namespace batchproc::mp::detail
