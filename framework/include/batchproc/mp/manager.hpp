// Manager: a server process that holds shared dictionaries and lists, used through proxies
// (Python's multiprocessing.Manager(), .dict() and .list()).
//
//     mp::Manager manager;                             // starts the server process
//     auto d = manager.dict<std::string, int>();       // a DictProxy<std::string, int>
//     auto l = manager.list<int>();                    // a ListProxy<int>
//     mp::Process p([d, l]() mutable { d.set("a", 1); l.append(3); });
//     p.start();
//     p.join();
//     d.get("a");                                      // std::optional<int>{1}
//     d.items();                                       // {{"a", 1}}, in insertion order
//
// Every operation is one request to the server, which applies it atomically: any number of
// processes may read and write at once. A sequence of operations (read, then write back) is
// not atomic, as in Python: hold a mp::Lock around it, or use setdefault/pop, which are.
//
// Keys and values are serialized with cereal (serialization.hpp), so a type that cannot be
// serialized does not compile. Two keys are the same key when their serialized bytes are the
// same (true for numbers, strings, tuples, vectors, ordered maps and sets of them).
//
// Proxies are cheap handles. They reach children as a Queue does, but need no descriptor:
// capture them (fork) or pass them as arguments (spawn, forkserver; they travel as the
// server's address and the object's number), or even send them through a Queue. Each
// process opens its own connection to the server on first use.
//
// The server lives until the Manager is destroyed or shutdown() is called, or until the
// process that made the Manager and every fork child of it have ended. After that, every
// proxy operation throws ManagerError. A process killed while using a proxy takes only its
// own connection with it; the server and the objects stay usable.
#pragma once

#include "batchproc/mp/errors.hpp"
#include "batchproc/mp/serialization.hpp"

#include <cereal/cereal.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace batchproc::mp {

// The manager's server cannot be reached: it was shut down, or the process that made it ended.
class ManagerError : public Error {
public:
    using Error::Error;
};

// DictProxy::at / pop of a key that is not there (Python's KeyError).
class KeyError : public Error {
public:
    using Error::Error;
};

// ListProxy::at / set / pop with an index out of range (Python's IndexError).
class IndexError : public Error {
public:
    using Error::Error;
};

namespace detail {

enum class ManagerOp : std::uint8_t {
    create_dict = 1,
    create_list,
    dict_set,
    dict_get,
    dict_erase,
    dict_pop,
    dict_setdefault,
    dict_update,
    dict_items,
    dict_keys,
    dict_values,
    list_append,
    list_extend,
    list_get,
    list_set,
    list_insert,
    list_pop,
    list_items,
    size,
    clear,
};

struct ManagerRequest {
    ManagerOp op{};
    std::uint64_t object = 0;
    std::int64_t index = 0;
    std::string key;
    std::string value;
    std::vector<std::string> many; // update: key, value, key, value ...; extend and create: values

    template <class Archive>
    void serialize(Archive &ar) {
        ar(op, object, index, key, value, many);
    }
};

enum class ManagerStatus : std::uint8_t { ok = 0, key_error, index_error, error };

struct ManagerReply {
    ManagerStatus status = ManagerStatus::ok;
    bool found = false;
    std::int64_t number = 0;
    std::string value;
    std::vector<std::string> values; // items: key, value, key, value ...
    std::string message;

    template <class Archive>
    void serialize(Archive &ar) {
        ar(status, found, number, value, values, message);
    }
};

// This process's connection to one manager's server, shared by all the proxies of that
// manager in the process. Reconnects in a fork child (the inherited socket is the parent's).
class ManagerClient;

// The client for the server at `address` in this process (made on first use).
std::shared_ptr<ManagerClient> manager_client(const std::string &address, std::int32_t server_pid);
const std::string &manager_address(const ManagerClient &client) noexcept;
std::int32_t manager_server_pid(const ManagerClient &client) noexcept;
// Sends the request and waits for the reply. Throws ManagerError when the server is gone,
// KeyError / IndexError / Error as the server answers.
ManagerReply manager_call(ManagerClient &client, const ManagerRequest &request, const char *what);

// What a proxy holds: its manager's client and the object's number.
class ProxyCore {
public:
    ProxyCore() = default;
    ProxyCore(std::shared_ptr<ManagerClient> client, std::uint64_t object)
        : client_(std::move(client)), object_(object) {}

    ManagerReply call(ManagerOp op, const char *what, std::string key = {}, std::string value = {},
                      std::int64_t index = 0, std::vector<std::string> many = {}) const;
    std::uint64_t object() const noexcept { return object_; }

    template <class Archive>
    void save(Archive &ar) const {
        ar(cereal::make_nvp("address", client_ ? manager_address(*client_) : std::string()),
           cereal::make_nvp("server", client_ ? manager_server_pid(*client_) : 0),
           cereal::make_nvp("object", object_));
    }
    template <class Archive>
    void load(Archive &ar) {
        std::string address;
        std::int32_t server = 0;
        ar(cereal::make_nvp("address", address), cereal::make_nvp("server", server),
           cereal::make_nvp("object", object_));
        client_ = address.empty() ? nullptr : manager_client(address, server);
    }

private:
    std::shared_ptr<ManagerClient> client_;
    std::uint64_t object_ = 0;
};

template <class T>
std::vector<std::string> dump_each(const std::vector<T> &values) {
    std::vector<std::string> out;
    out.reserve(values.size());
    for (const T &v : values) out.push_back(dumps(v));
    return out;
}

template <class T>
std::vector<T> load_each(const std::vector<std::string> &bytes) {
    std::vector<T> out;
    out.reserve(bytes.size());
    for (const std::string &b : bytes) out.push_back(loads<T>(b));
    return out;
}

} // namespace detail

// A dictionary held by a Manager's server (Python's DictProxy). Iteration order is insertion
// order, as Python's dict.
template <class K, class V>
class DictProxy {
public:
    // An unbound proxy: every operation throws ManagerError. Proxies come from Manager::dict.
    DictProxy() = default;
    explicit DictProxy(detail::ProxyCore core) : core_(std::move(core)) {
        detail::require_serializable<K>();
        detail::require_serializable<V>();
    }

    // d[key] = value
    void set(const K &key, const V &value) { call(detail::ManagerOp::dict_set, dumps(key), dumps(value)); }
    // d.get(key): nullopt when absent.
    std::optional<V> get(const K &key) const {
        const detail::ManagerReply r = call(detail::ManagerOp::dict_get, dumps(key));
        if (!r.found) return std::nullopt;
        return loads<V>(r.value);
    }
    // d.get(key, default)
    V get(const K &key, const V &default_value) const {
        std::optional<V> v = get(key);
        return v ? std::move(*v) : default_value;
    }
    // d[key]: throws KeyError when absent.
    V at(const K &key) const {
        const detail::ManagerReply r = call(detail::ManagerOp::dict_get, dumps(key));
        if (!r.found) throw KeyError("batchproc::mp::DictProxy: the key is not in the dictionary");
        return loads<V>(r.value);
    }
    // key in d
    bool contains(const K &key) const { return call(detail::ManagerOp::dict_get, dumps(key)).found; }
    // del d[key], without the KeyError: true when the key was there.
    bool erase(const K &key) { return call(detail::ManagerOp::dict_erase, dumps(key)).found; }
    // d.pop(key): removes and returns the value; KeyError when absent.
    V pop(const K &key) {
        const detail::ManagerReply r = call(detail::ManagerOp::dict_pop, dumps(key));
        if (!r.found) throw KeyError("batchproc::mp::DictProxy::pop: the key is not in the dictionary");
        return loads<V>(r.value);
    }
    // d.pop(key, default)
    V pop(const K &key, const V &default_value) {
        const detail::ManagerReply r = call(detail::ManagerOp::dict_pop, dumps(key));
        return r.found ? loads<V>(r.value) : default_value;
    }
    // d.setdefault(key, value): the value at `key`, set to `value` first if absent (atomic).
    V setdefault(const K &key, const V &value) {
        const detail::ManagerReply r = call(detail::ManagerOp::dict_setdefault, dumps(key), dumps(value));
        return loads<V>(r.value);
    }
    // d.update(pairs): any range of pairs (a std::map, a vector of pairs ...), in one request.
    template <class Range>
    void update(const Range &pairs) {
        std::vector<std::string> many;
        for (const auto &[k, v] : pairs) {
            many.push_back(dumps(static_cast<const K &>(k)));
            many.push_back(dumps(static_cast<const V &>(v)));
        }
        call(detail::ManagerOp::dict_update, {}, {}, std::move(many));
    }

    std::vector<K> keys() const { return detail::load_each<K>(call(detail::ManagerOp::dict_keys).values); }
    std::vector<V> values() const { return detail::load_each<V>(call(detail::ManagerOp::dict_values).values); }
    // d.items(), as a copy taken in one request.
    std::vector<std::pair<K, V>> items() const {
        const detail::ManagerReply r = call(detail::ManagerOp::dict_items);
        std::vector<std::pair<K, V>> out;
        out.reserve(r.values.size() / 2);
        for (std::size_t i = 0; i + 1 < r.values.size(); i += 2)
            out.emplace_back(loads<K>(r.values[i]), loads<V>(r.values[i + 1]));
        return out;
    }
    std::size_t size() const { return static_cast<std::size_t>(call(detail::ManagerOp::size).number); }
    bool empty() const { return size() == 0; }
    void clear() { call(detail::ManagerOp::clear); }

    template <class Archive>
    void serialize(Archive &ar) {
        ar(core_);
    }

private:
    detail::ManagerReply call(detail::ManagerOp op, std::string key = {}, std::string value = {},
                              std::vector<std::string> many = {}) const {
        return core_.call(op, "DictProxy", std::move(key), std::move(value), 0, std::move(many));
    }

    detail::ProxyCore core_;
};

// A list held by a Manager's server (Python's ListProxy). Indexes may be negative, counting
// from the end, as in Python.
template <class T>
class ListProxy {
public:
    ListProxy() = default;
    explicit ListProxy(detail::ProxyCore core) : core_(std::move(core)) { detail::require_serializable<T>(); }

    void append(const T &value) { call(detail::ManagerOp::list_append, 0, dumps(value)); }
    void extend(const std::vector<T> &values) {
        call(detail::ManagerOp::list_extend, 0, {}, detail::dump_each(values));
    }
    // l[index]: IndexError when out of range.
    T at(std::int64_t index) const { return loads<T>(call(detail::ManagerOp::list_get, index).value); }
    T operator[](std::int64_t index) const { return at(index); }
    // l[index] = value: IndexError when out of range.
    void set(std::int64_t index, const T &value) { call(detail::ManagerOp::list_set, index, dumps(value)); }
    // l.insert(index, value): clamped to the list's bounds, as in Python.
    void insert(std::int64_t index, const T &value) { call(detail::ManagerOp::list_insert, index, dumps(value)); }
    // l.pop(index = -1): IndexError when empty or out of range.
    T pop(std::int64_t index = -1) { return loads<T>(call(detail::ManagerOp::list_pop, index).value); }
    // list(l): a copy taken in one request.
    std::vector<T> to_vector() const { return detail::load_each<T>(call(detail::ManagerOp::list_items).values); }
    std::size_t size() const { return static_cast<std::size_t>(call(detail::ManagerOp::size).number); }
    bool empty() const { return size() == 0; }
    void clear() { call(detail::ManagerOp::clear); }

    template <class Archive>
    void serialize(Archive &ar) {
        ar(core_);
    }

private:
    detail::ManagerReply call(detail::ManagerOp op, std::int64_t index = 0, std::string value = {},
                              std::vector<std::string> many = {}) const {
        return core_.call(op, "ListProxy", {}, std::move(value), index, std::move(many));
    }

    detail::ProxyCore core_;
};

class Manager {
public:
    // Starts the server process (forked from this one, with no descriptor of this process but
    // its standard streams). Throws ProcessError when it cannot.
    Manager();
    // Shuts the server down (in the process that made the Manager).
    ~Manager();
    Manager(Manager &&other) noexcept;
    Manager &operator=(Manager &&other) noexcept;
    Manager(const Manager &) = delete;
    Manager &operator=(const Manager &) = delete;

    // A new, empty shared dictionary (Python's manager.dict()), or one holding `initial`.
    template <class K, class V>
    DictProxy<K, V> dict() {
        return DictProxy<K, V>(create(detail::ManagerOp::create_dict, {}));
    }
    template <class K, class V, class Range>
    DictProxy<K, V> dict(const Range &initial) {
        DictProxy<K, V> d = dict<K, V>();
        d.update(initial);
        return d;
    }
    // A new shared list (Python's manager.list()), empty or holding `initial`.
    template <class T>
    ListProxy<T> list(const std::vector<T> &initial = {}) {
        detail::require_serializable<T>();
        return ListProxy<T>(create(detail::ManagerOp::create_list, detail::dump_each(initial)));
    }

    // Stops the server now; every proxy then throws ManagerError. Does nothing the second time,
    // or in a process other than the one that made the Manager.
    void shutdown() noexcept;
    // The server's pid (0 once shut down).
    int pid() const noexcept { return server_pid_; }
    // The server's address (an abstract Unix socket name, "@batchproc-mp-manager-...").
    std::string address() const;

private:
    detail::ProxyCore create(detail::ManagerOp op, std::vector<std::string> initial);

    std::shared_ptr<detail::ManagerClient> client_;
    int server_pid_ = 0;
    int creator_pid_ = 0;
    int lifeline_ = -1; // write end of a pipe the server watches: it ends when every copy closes
};

} // namespace batchproc::mp
