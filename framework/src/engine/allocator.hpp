// How batchproc processes ask the C library for memory.
#pragma once

namespace batchproc {

// Keeps large image buffers in the heap between jobs. glibc maps every block above its
// mmap threshold (at most 32 MiB, dynamically) afresh and unmaps it when freed, so each job
// pays a page fault per 4 KiB page of each large buffer: a decoded 9 Mpx RGBA photo is
// 36 MB, its premultiplied 16-bit copy 72 MB, ~40 ms of faults for that copy alone. With the
// threshold and the trim threshold at 256 MiB the next job reuses the same pages. Peak
// memory is unchanged (the buffers exist during a job either way); a worker keeps its peak
// heap between jobs instead of returning it. Blocks above 256 MiB are still mapped and
// returned at once. Call once at the start of the process; forked workers inherit it.
void keep_large_buffers_in_heap();

} // namespace batchproc
