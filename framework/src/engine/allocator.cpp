#include "engine/allocator.hpp"

#include <malloc.h>

namespace batchproc {

void keep_large_buffers_in_heap() {
    constexpr int kKeep = 256 << 20;
    mallopt(M_MMAP_THRESHOLD, kKeep);
    mallopt(M_TRIM_THRESHOLD, kKeep);
}

} // namespace batchproc
