// Image files a stage reads through the host (bp_host_api.read_image, API 1.2): a logo, a
// mask, a second picture. Decoded with the engine's own decoders and held until the stage
// releases them.
#pragma once

#include <batchproc/plugin.h>

namespace batchproc {

// bp_host_api.read_image: decodes `path` as an input is decoded under the default input
// options (EXIF orientation applied, colour converted to sRGB, alpha kept, the 256 Mpx
// limit); the decoder's notes become warnings of `job`.
bp_status host_read_image(bp_job *job, const char *path, bp_image *out, void **handle, bp_error *err) noexcept;

// bp_host_api.release_image.
void host_release_image(void *handle) noexcept;

} // namespace batchproc
