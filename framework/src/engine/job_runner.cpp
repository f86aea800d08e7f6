#include "engine/job_runner.hpp"

#include "engine/crash_context.hpp"

#include "codec/image_decoder.hpp"
#include "codec/image_header.hpp"
#include "codec/metadata.hpp"
#include "engine/error_text.hpp"
#include "engine/utf8_text.hpp"
#include "io/atomic_file.hpp"
#include "io/path_safety.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

namespace batchproc {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// The input, read whole. Non-blocking open and a regular-file check: an input swapped for a
// FIFO or a link to a device after planning fails its job at once instead of blocking or
// reading forever; and no more than the size fstat gave is read.
std::vector<uint8_t> read_whole_file(const std::filesystem::path &path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) throw std::runtime_error(std::string("cannot open file: ") + std::strerror(errno));
    struct stat st {};
    const bool known = ::fstat(fd, &st) == 0;
    const int stat_errno = errno;
    if (!known || !S_ISREG(st.st_mode)) {
        ::close(fd);
        throw std::runtime_error(!known ? std::string("cannot read file: ") + std::strerror(stat_errno)
                                 : S_ISFIFO(st.st_mode) ? "not a regular file but a FIFO: batchproc reads only files"
                                 : S_ISDIR(st.st_mode)  ? "not a regular file but a folder"
                                                        : "not a regular file but a device or socket: batchproc reads "
                                                          "only files");
    }
    std::vector<uint8_t> bytes;
    const size_t size = static_cast<size_t>(st.st_size);
    bytes.reserve(size);
    uint8_t buffer[65536];
    while (bytes.size() < size) {
        const ssize_t n = ::read(fd, buffer, std::min(sizeof buffer, size - bytes.size()));
        if (n < 0) {
            if (errno == EINTR) continue;
            const int err = errno;
            ::close(fd);
            throw std::runtime_error(std::string("cannot read file: ") + std::strerror(err));
        }
        if (n == 0) break;
        bytes.insert(bytes.end(), buffer, buffer + n);
    }
    ::close(fd);
    return bytes;
}

} // namespace

JobRunner::JobRunner(const RunSpec &spec, const PipelinePlan &plan)
    : spec_(spec), plan_(plan), pipeline_(plan), pid_(static_cast<long>(::getpid())) {
    output_options_.overwrite = spec.output.overwrite;
    output_options_.durable = spec.output.durable;
    if (!spec.output.dir.empty()) output_options_.root = normal_absolute(spec.output.dir);
    output_slot_.assign(plan.stages.size(), -1);
    for (size_t o = 0; o < plan.outputs.size(); ++o) output_slot_.at(plan.outputs[o].stage) = static_cast<int>(o);
}

int JobRunner::decode_hint(const std::vector<uint8_t> &bytes) {
    if (!spec_.input.decode.shrink_on_load || pipeline_.stages().empty()) return 0;
    // Only JPEG and WebP decode at reduced scale; other formats need no hint (and their
    // headers are not read twice: a HEIF probe parses the whole box structure).
    const std::string format = sniff_format(bytes.data(), bytes.size());
    if (format != "jpeg" && format != "webp") return 0;
    const std::optional<ImageHeader> header = probe_header(bytes.data(), bytes.size());
    if (!header || header->width <= 0 || header->height <= 0) return 0;
    int64_t width = header->width, height = header->height;
    // Orientations 5-8 turn the image by 90 degrees: the stage sees it turned.
    if (spec_.input.decode.exif_orientation && exif_orientation(bytes.data(), bytes.size()) >= 5)
        std::swap(width, height);
    return pipeline_.stages().front().decode_hint(static_cast<int>(width), static_cast<int>(height));
}

JobRecord JobRunner::run(const PlannedJob &job) {
    JobRecord record;
    record.worker_pid = pid_;
    const auto start = Clock::now();
    JobContext ctx(job.index, job.input.string());
    note_job(job.display);
    // What of the input's metadata the output carries (output.metadata, input.colour: keep).
    const bool copy_metadata = spec_.output.metadata == MetadataPolicy::keep;
    const bool keep_icc = spec_.output.metadata != MetadataPolicy::strip && spec_.input.decode.colour == ColourPolicy::keep;
    SourceMetadata source;
    MetadataPlan metadata;
    try {
        if (!job.input.empty() && plan_.needs_image) {
            const std::vector<uint8_t> bytes = read_whole_file(job.input);
            record.bytes_in = bytes.size();
            DecodedImage decoded = decode_image(bytes.data(), bytes.size(), spec_.input.decode, decode_hint(bytes));
            if (copy_metadata) {
                std::string warning;
                source = SourceMetadata::read(bytes.data(), bytes.size(), warning);
                if (!warning.empty()) ctx.warnings().push_back(warning);
                metadata.source = &source;
                metadata.reset_orientation = decoded.orientation_applied != 1;
                metadata.strip_gps = spec_.output.strip_gps;
            }
            if (keep_icc) {
                ctx.set_output_profile(decoded.icc);
                metadata.icc = std::move(decoded.icc);
            }
            for (std::string &w : decoded.warnings) ctx.warnings().push_back(std::move(w));
            ctx.set_image(std::move(decoded.pixels));
            if (decoded.scale_denominator > 1) {
                ctx.set_source_size(static_cast<int>(decoded.source_width), static_cast<int>(decoded.source_height));
                ctx.metrics()["decode_scale"] = "1/" + std::to_string(decoded.scale_denominator);
            }
        }
        if (!job.outputs.empty()) {
            ctx.set_output_count(job.outputs.size());
            const WriteOptions &options = output_options_;
            ctx.set_output_writer([&job, &options, &metadata, &ctx](const void *data, size_t size) {
                const std::filesystem::path &output = job.outputs.at(static_cast<size_t>(ctx.current_output()));
                // A profile the encoder embedded itself needs no exiv2 pass (nor a format
                // exiv2 can write: WebP's ICCP chunk, AVIF).
                if (metadata.source == nullptr && (metadata.icc.empty() || ctx.profile_embedded())) {
                    write_file_atomically(output, data, size, options);
                    return;
                }
                metadata.width = ctx.writing_width(); // the image being saved
                metadata.height = ctx.writing_height();
                const std::vector<uint8_t> with_metadata = apply_metadata(data, size, metadata);
                write_file_atomically(output, with_metadata.data(), with_metadata.size(), options);
            });
        }
        auto &stages = pipeline_.stages();
        record.stage_ms.reserve(stages.size());
        bool failed = false;
        for (size_t i = 0; i < stages.size(); ++i) {
            StageInstance &stage = stages[i];
            ctx.set_current_output(output_slot_[i]);
            note_stage(stage.name());
            const auto stage_start = Clock::now();
            const std::string error = stage.process(ctx);
            record.stage_ms.push_back({stage.name(), ms_since(stage_start)});
            if (!error.empty()) {
                record.status = JobStatus::failed;
                record.error = stage_error_text(stage.name(), error);
                failed = true;
                break;
            }
        }
        note_stage("");
        if (!failed) {
            if (!job.outputs.empty() && !ctx.output_written())
                throw std::runtime_error("the pipeline finished without writing its output");
            record.status = JobStatus::ok;
        }
    } catch (const std::exception &e) {
        record.status = JobStatus::failed;
        record.error = e.what();
    }
    if (ctx.has_image()) {
        // The final image's size, unless a stage reported its own.
        auto &m = ctx.metrics();
        if (!m.contains("width")) m["width"] = ctx.image().cols;
        if (!m.contains("height")) m["height"] = ctx.image().rows;
    }
    if (job.outputs.size() > 1) {
        // Each output's own size and bytes: the output stages' metrics share their keys.
        nlohmann::ordered_json outputs = nlohmann::ordered_json::array();
        for (const JobContext::Output &o : ctx.outputs()) {
            nlohmann::ordered_json entry = nlohmann::ordered_json::object();
            if (o.written) {
                if (o.width > 0) {
                    entry["width"] = o.width;
                    entry["height"] = o.height;
                }
                entry["bytes"] = o.bytes;
            }
            outputs.push_back(std::move(entry));
        }
        ctx.metrics()["outputs"] = std::move(outputs);
    }
    make_json_text_valid(ctx.metrics()); // a stage may put a file name in a metric
    record.metrics_json = ctx.metrics().dump();
    record.warnings = std::move(ctx.warnings());
    record.bytes_out = ctx.bytes_out();
    record.ms = ms_since(start);
    record.attempts = 1;
    return record;
}

} // namespace batchproc
