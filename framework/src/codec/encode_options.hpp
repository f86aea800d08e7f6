// How an image is to be encoded: what the save stage asks for, handed to whichever codec
// writes the format. Each codec reads the fields that apply to it.
#pragma once

#include <stdexcept>
#include <string>

namespace batchproc {

// An image that cannot be encoded as asked; the message is a sentence naming why.
class EncodeError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct EncodeOptions {
    int quality = 90;          // jpeg, webp (lossy), avif: 1..100
    bool progressive = false;  // jpeg
    bool optimize = false;     // jpeg: optimised Huffman tables (smaller files, a little slower)
    int subsampling = 420;     // jpeg: chroma subsampling 420, 422 or 444
    bool lossless = false;     // webp, avif
    int png_compression = 6;   // png: zlib level 0..9
    // What transparent pixels are blended over for formats without alpha (jpg, bmp), as
    // blue, green, red on the 8-bit scale (16-bit images scale it by 257).
    double background[3] = {255, 255, 255};
};

} // namespace batchproc
