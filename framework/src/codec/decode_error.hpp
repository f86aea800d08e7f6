// What every decoder throws, in its own header so that the codec modules can throw it
// without the engine's config types.
#pragma once

#include <stdexcept>

namespace batchproc {

// A file that cannot be decoded; the message is a sentence naming why.
class DecodeError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

} // namespace batchproc
