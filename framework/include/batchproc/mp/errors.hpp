// The exceptions of batchproc::mp, named after the Python exceptions they stand for.
#pragma once

#include <stdexcept>
#include <string>

namespace batchproc::mp {

// Base of every error this library throws.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// multiprocessing.ProcessError: a process could not be started, joined or signalled.
class ProcessError : public Error {
public:
    using Error::Error;
};

// A spawn or forkserver Process was given a function that is not registered with
// BATCHPROC_MP_TASK, or a child was asked to run a task name it does not know.
class TaskNotRegistered : public ProcessError {
public:
    using ProcessError::ProcessError;
};

// Connection::recv when the other end is closed and nothing is left to read.
class EOFError : public Error {
public:
    using Error::Error;
};

// Connection::send when the other end is closed.
class BrokenPipeError : public Error {
public:
    using Error::Error;
};

// An operation on a Queue, SimpleQueue or Connection that was closed in this process.
class ValueError : public Error {
public:
    using Error::Error;
};

// queue.Full: put() on a bounded queue that stayed full (non-blocking, or past the timeout).
class Full : public Error {
public:
    Full() : Error("queue is full") {}
    using Error::Error;
};

// queue.Empty: get() that found nothing (non-blocking, or past the timeout).
class Empty : public Error {
public:
    Empty() : Error("queue is empty") {}
    using Error::Error;
};

// Python's SystemExit: throw it in a child process's function to end the process with
// `code` as its exit code (what sys.exit(code) does in a Python child). Not derived from
// std::exception, so that a task's `catch (const std::exception &)` does not swallow it.
struct SystemExit {
    int code = 0;
};

} // namespace batchproc::mp
