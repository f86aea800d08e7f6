// Human-friendly quantities in config values: durations, byte sizes, pixel counts.
#pragma once

#include <cstdint>
#include <string>

namespace batchproc {

// "60s", "500ms", "2m", "1h", "1h30m", "1.5" (a plain number is seconds). 0 means none.
// Returns seconds. Throws std::invalid_argument with a sentence naming the accepted forms.
double parse_duration(const std::string &text);

// "2GiB", "512MiB", "1.5GB", "100k", "4096" (a plain number is bytes). k, M, G, T are powers
// of 1000 and Ki, Mi, Gi, Ti powers of 1024, each with or without a trailing B, any case.
// Fractions are rounded to the nearest byte. Throws std::invalid_argument.
uint64_t parse_size(const std::string &text);

// "268435456", "268M", "100Mpx", "0.5k": k, M, G are powers of 1000; "px" is optional.
// Throws std::invalid_argument.
uint64_t parse_pixel_count(const std::string &text);

// For messages: "1.5 GiB", "512 B"; "268 Mpx", "12 kpx", "640 px"; "1h30m", "2.5s", "none".
std::string format_size(uint64_t bytes);
std::string format_pixel_count(uint64_t pixels);
std::string format_duration(double seconds);

} // namespace batchproc
