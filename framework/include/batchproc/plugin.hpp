// batchproc plugin SDK: header-only C++17 helpers over the C ABI in plugin.h.
//
// A stage is a small class working on cv::Mat with typed parameters declared as members:
//
//   class Blur : public batchproc::Stage {
//   public:
//       static constexpr const char *name = "blur";
//       static constexpr const char *doc = "Box blur.";
//       batchproc::IntParam ksize{this, "ksize", 3, "kernel side in pixels", {1, 255}};
//       void process(batchproc::Job &job) override {
//           cv::Mat out;
//           cv::blur(job.image(), out, cv::Size(int(ksize), int(ksize)));
//           job.set_image(out);
//       }
//   };
//   BATCHPROC_PLUGIN("myplugin", "1.0.0", "My stages.", Blur)
//
// The parameter declarations are the single source of the stage's schema: the host
// validates configs against it, `batchproc plugins` prints it. Exceptions thrown by a
// stage become error statuses with the exception's message; none crosses the boundary.
#ifndef BATCHPROC_PLUGIN_HPP
#define BATCHPROC_PLUGIN_HPP

#include <batchproc/plugin.h>

#include <opencv2/core.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace batchproc {

// Thrown by Stage::validate() (or a parameter) when a value is not acceptable; the host
// reports it as a config error, before any job runs.
class ParamError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Marks a parameter that has no default: optional, and unset unless the config gives it.
struct Unset {};
inline constexpr Unset unset{};

// An inclusive range for a numeric parameter.
struct Range {
    Range() = default;
    Range(double lo, double hi) : set(true), min(lo), max(hi) {}
    bool set = false;
    double min = 0;
    double max = 0;
};

class Stage;

namespace detail {

// Copies an error sentence into the fixed buffer. A sentence too long for it (a deep path)
// keeps its start and its end, where the cause is, and loses the middle ("..."), cut
// between UTF-8 characters.
inline void copy_message(bp_error *err, const char *text) {
    if (err == nullptr) return;
    const size_t size = std::strlen(text), room = sizeof err->message - 1;
    if (size <= room) {
        std::memcpy(err->message, text, size + 1);
        return;
    }
    const auto continuation = [&](size_t at) { return (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80; };
    static const char kGap[] = " ... ";
    size_t head = room / 3;
    while (head > 0 && continuation(head)) --head; // the head ends before a character's start
    size_t tail_from = size - (room - head - (sizeof kGap - 1));
    while (tail_from < size && continuation(tail_from)) ++tail_from; // the tail starts at one
    std::memcpy(err->message, text, head);
    std::memcpy(err->message + head, kGap, sizeof kGap - 1);
    std::memcpy(err->message + head + sizeof kGap - 1, text + tail_from, size - tail_from);
    err->message[head + sizeof kGap - 1 + size - tail_from] = '\0';
}

class ParamBase {
public:
    ParamBase(const ParamBase &) = delete;
    ParamBase &operator=(const ParamBase &) = delete;
    virtual ~ParamBase() = default;

    const bp_param_schema &schema() const { return schema_; }
    const char *name() const { return schema_.name; }
    bool is_set() const { return is_set_; }
    void assign(const bp_param_value &v) {
        is_set_ = v.is_set != 0;
        if (is_set_) assign_value(v);
    }

protected:
    ParamBase(Stage *owner, const char *name, bp_param_type type, const char *doc, Range range);
    void set_default_text(std::string text) {
        default_text_ = std::move(text);
        schema_.default_value = default_text_.c_str();
        is_set_ = true;
    }
    virtual void assign_value(const bp_param_value &v) = 0;

    bp_param_schema schema_{};
    std::string default_text_;
    bool is_set_ = false;
};

inline std::string format_number(double v) {
    // The shortest plain decimal that reads back to the same value ("50", "0.25"); the
    // exponent form only for values that have none.
    char buf[64];
    for (int decimals = 0; decimals <= 9; ++decimals) {
        std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
        if (std::strtod(buf, nullptr) == v) return buf;
    }
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

} // namespace detail

// The job a stage works on: its image, metrics, output and identity.
class Job {
public:
    Job(const bp_host_api *host, bp_job *job) : host_(host), job_(job) {}

    bool has_image() const {
        bp_image view{};
        return host_->get_image(job_, &view) != 0;
    }

    // The current image as a cv::Mat over the host's pixels (no copy). The job owns its
    // pixels alone, so a stage may change them in place.
    cv::Mat image() const {
        bp_image view{};
        if (host_->get_image(job_, &view) == 0)
            throw std::runtime_error("this stage needs an image, and this job has none");
        return cv::Mat(view.height, view.width, CV_MAKETYPE(cv_depth(view.depth), view.channels),
                       view.data, view.stride);
    }

    // Replace the current image. The pixels are handed over without a copy: the host keeps
    // a reference to the matrix until it no longer needs it.
    void set_image(const cv::Mat &image) {
        if (image.empty()) throw std::runtime_error("stage produced an empty image");
        cv::Mat held = image;
        if (!held.isContinuous() && held.step[0] % held.elemSize1() != 0) held = image.clone();
        const bp_image view = view_of(held);
        auto *owner = new cv::Mat(std::move(held));
        host_->set_image(job_, &view, [](void *p) { delete static_cast<cv::Mat *>(p); }, owner);
    }

    void metric(const char *key, int64_t value) { host_->set_metric_int(job_, key, value); }
    void metric(const char *key, int value) { host_->set_metric_int(job_, key, value); }
    void metric(const char *key, double value) { host_->set_metric_float(job_, key, value); }
    void metric(const char *key, const std::string &value) {
        host_->set_metric_string(job_, key, value.c_str());
    }
    void metric(const char *key, const char *value) { host_->set_metric_string(job_, key, value); }

    // Hand the encoded output file to the host (written atomically under its final name).
    void write_output(const void *data, size_t size) {
        bp_error err{};
        if (host_->write_output(job_, data, size, &err) != BP_OK) throw std::runtime_error(err.message);
    }
    void write_output(const std::vector<unsigned char> &bytes) { write_output(bytes.data(), bytes.size()); }

    // Has the host encode `image` as `format` ("jpg", "png", "webp", "tiff", "avif", ...) and
    // write it as the output (see bp_host_api.write_image); returns the file's size in bytes.
    // Needs a host of API 1.1 or later.
    uint64_t write_image(const cv::Mat &image, const std::string &format, const bp_encode_options &options) {
        if (!host_has(offsetof(bp_host_api, write_image) + sizeof host_->write_image) || !host_->write_image)
            throw std::runtime_error("this batchproc is too old to encode images for a stage (API 1.1 needed)");
        const bp_image view = view_of(image);
        bp_encode_options o = options;
        o.struct_size = sizeof o;
        uint64_t size = 0;
        bp_error err{};
        if (host_->write_image(job_, &view, format.c_str(), &o, &size, &err) != BP_OK)
            throw std::runtime_error(err.message);
        return size;
    }
    // Whether the host writes `format` (false on a host older than API 1.1).
    bool can_write_format(const std::string &format) const {
        return host_has(offsetof(bp_host_api, can_write_format) + sizeof host_->can_write_format) &&
               host_->can_write_format && host_->can_write_format(format.c_str()) != 0;
    }

    // Decodes the image file at `path` with the host's decoders, as inputs are decoded (see
    // bp_host_api.read_image): upright, in sRGB, alpha kept; 8-bit, 16-bit or float with 1,
    // 3 or 4 channels. Returns a copy the stage owns. Needs a host of API 1.2 or later.
    cv::Mat read_image(const std::string &path) const {
        if (!host_has(offsetof(bp_host_api, release_image) + sizeof host_->release_image) || !host_->read_image ||
            !host_->release_image)
            throw std::runtime_error("this batchproc is too old to read images for a stage (API 1.2 needed)");
        bp_image view{};
        void *handle = nullptr;
        bp_error err{};
        if (host_->read_image(job_, path.c_str(), &view, &handle, &err) != BP_OK) throw std::runtime_error(err.message);
        const std::unique_ptr<void, void (*)(void *)> held(handle, host_->release_image);
        return cv::Mat(view.height, view.width, CV_MAKETYPE(cv_depth(view.depth), view.channels), view.data,
                       view.stride)
            .clone();
    }

    // The size the current image stands for (see bp_host_api.get_source_size): the input's
    // full size while the image is the decoder's output, possibly decoded at reduced scale.
    cv::Size source_size() const {
        int32_t w = 0, h = 0;
        if (host_->struct_size >= offsetof(bp_host_api, get_source_size) + sizeof host_->get_source_size &&
            host_->get_source_size != nullptr && host_->get_source_size(job_, &w, &h) != 0)
            return cv::Size(w, h);
        const cv::Mat m = image();
        return m.size();
    }

    std::string input_path() const { return host_->input_path(job_); }
    int64_t index() const { return host_->job_index(job_); }
    void warn(const std::string &message) { host_->warn(job_, message.c_str()); }

    static int cv_depth(int32_t depth) {
        switch (depth) {
        case BP_DEPTH_U16: return CV_16U;
        case BP_DEPTH_F32: return CV_32F;
        default: return CV_8U;
        }
    }
    static int32_t bp_depth_of(int cv_depth) {
        switch (cv_depth) {
        case CV_8U: return BP_DEPTH_U8;
        case CV_16U: return BP_DEPTH_U16;
        case CV_32F: return BP_DEPTH_F32;
        default: throw std::runtime_error("stage produced an image of unsupported depth (use 8-bit, 16-bit or float)");
        }
    }

private:
    bool host_has(size_t bytes) const { return host_->struct_size >= bytes; }
    static bp_image view_of(const cv::Mat &m) {
        bp_image view{};
        view.data = m.data;
        view.width = m.cols;
        view.height = m.rows;
        view.channels = m.channels();
        view.depth = bp_depth_of(m.depth());
        view.stride = m.step[0];
        return view;
    }

    const bp_host_api *host_;
    bp_job *job_;
};

// Base of every C++ stage. A derived class declares:
//   static constexpr const char *name, *doc;
// and may redeclare:
//   static constexpr uint32_t flags;              (default: BP_STAGE_NEEDS_IMAGE; see BP_STAGE_* in plugin.h)
//   static constexpr const char *extension_param; (for output stages)
//   static constexpr const char *name_param;      (for output stages: their own file name)
class Stage {
public:
    static constexpr uint32_t flags = BP_STAGE_NEEDS_IMAGE;
    static constexpr const char *extension_param = nullptr;
    static constexpr const char *name_param = nullptr;

    Stage() = default;
    Stage(const Stage &) = delete;
    Stage &operator=(const Stage &) = delete;
    virtual ~Stage() = default;

    // Checks across parameters, run once when the stage is created (before any job).
    // Throw ParamError with a sentence naming the parameter.
    virtual void validate() {}
    virtual void process(Job &job) = 0;
    // For the pipeline's first stage: the smallest long side of the decoded input from which
    // this stage still makes its exact result, for an input of width x height (as this stage
    // will see it); 0 = needs the full image. Lets the host decode JPEGs at reduced scale.
    virtual int decode_hint(int width, int height) const {
        (void)width;
        (void)height;
        return 0;
    }

    const std::vector<detail::ParamBase *> &params() const { return params_; }

private:
    friend class detail::ParamBase;
    std::vector<detail::ParamBase *> params_;
};

inline detail::ParamBase::ParamBase(Stage *owner, const char *name, bp_param_type type, const char *doc,
                                    Range range) {
    schema_.struct_size = sizeof(bp_param_schema);
    schema_.name = name;
    schema_.type = type;
    schema_.doc = doc;
    schema_.has_range = range.set ? 1 : 0;
    schema_.min_value = range.min;
    schema_.max_value = range.max;
    owner->params_.push_back(this);
}

class IntParam : public detail::ParamBase {
public:
    IntParam(Stage *owner, const char *name, int64_t def, const char *doc, Range range = {})
        : ParamBase(owner, name, BP_PARAM_INT, doc, range), value_(def) {
        set_default_text(std::to_string(def));
    }
    IntParam(Stage *owner, const char *name, Unset, const char *doc, Range range = {})
        : ParamBase(owner, name, BP_PARAM_INT, doc, range) {}
    int64_t value() const { return value_; }
    operator int64_t() const { return value_; }

private:
    void assign_value(const bp_param_value &v) override { value_ = v.int_value; }
    int64_t value_ = 0;
};

class FloatParam : public detail::ParamBase {
public:
    FloatParam(Stage *owner, const char *name, double def, const char *doc, Range range = {})
        : ParamBase(owner, name, BP_PARAM_FLOAT, doc, range), value_(def) {
        set_default_text(detail::format_number(def));
    }
    FloatParam(Stage *owner, const char *name, Unset, const char *doc, Range range = {})
        : ParamBase(owner, name, BP_PARAM_FLOAT, doc, range) {}
    double value() const { return value_; }
    operator double() const { return value_; }

private:
    void assign_value(const bp_param_value &v) override { value_ = v.float_value; }
    double value_ = 0;
};

class BoolParam : public detail::ParamBase {
public:
    BoolParam(Stage *owner, const char *name, bool def, const char *doc)
        : ParamBase(owner, name, BP_PARAM_BOOL, doc, Range{}), value_(def) {
        set_default_text(def ? "true" : "false");
    }
    bool value() const { return value_; }
    operator bool() const { return value_; }

private:
    void assign_value(const bp_param_value &v) override { value_ = v.bool_value != 0; }
    bool value_ = false;
};

class StringParam : public detail::ParamBase {
public:
    StringParam(Stage *owner, const char *name, const char *def, const char *doc)
        : ParamBase(owner, name, BP_PARAM_STRING, doc, Range{}), value_(def) {
        set_default_text(def);
    }
    StringParam(Stage *owner, const char *name, Unset, const char *doc)
        : ParamBase(owner, name, BP_PARAM_STRING, doc, Range{}) {}
    const std::string &value() const { return value_; }
    operator const std::string &() const { return value_; }

private:
    void assign_value(const bp_param_value &v) override { value_ = v.string_value ? v.string_value : ""; }
    std::string value_;
};

class ChoiceParam : public detail::ParamBase {
public:
    ChoiceParam(Stage *owner, const char *name, const char *def, std::initializer_list<const char *> choices,
                const char *doc)
        : ParamBase(owner, name, BP_PARAM_CHOICE, doc, Range{}), choices_(choices), value_(def) {
        choices_.push_back(nullptr);
        schema_.choices = choices_.data();
        set_default_text(def);
    }
    const std::string &value() const { return value_; }
    operator const std::string &() const { return value_; }
    bool operator==(const char *other) const { return value_ == other; }
    bool operator!=(const char *other) const { return value_ != other; }

private:
    void assign_value(const bp_param_value &v) override { value_ = v.string_value ? v.string_value : ""; }
    std::vector<const char *> choices_;
    std::string value_;
};

// A file (API 1.2): the host refuses a config whose file is missing or unreadable, and the
// stage gets its absolute path (a relative one is taken from the config file's folder).
// Always optional with no default, so that a missing default file cannot fail configs
// that never use it: a stage with a fallback file checks that one itself in validate().
class PathParam : public detail::ParamBase {
public:
    PathParam(Stage *owner, const char *name, Unset, const char *doc)
        : ParamBase(owner, name, BP_PARAM_PATH, doc, Range{}) {}
    const std::string &value() const { return value_; }
    operator const std::string &() const { return value_; }

private:
    void assign_value(const bp_param_value &v) override { value_ = v.string_value ? v.string_value : ""; }
    std::string value_;
};

namespace detail {

// The C tables for one stage class T, built once from a prototype instance.
template <typename T>
class StageTable {
public:
    StageTable() {
        for (const ParamBase *p : prototype_.params()) schemas_.push_back(&p->schema());
        descriptor_.struct_size = sizeof(bp_stage_descriptor);
        descriptor_.name = T::name;
        descriptor_.doc = T::doc;
        descriptor_.flags = T::flags;
        descriptor_.param_count = schemas_.size();
        descriptor_.params = schemas_.data();
        descriptor_.extension_param = T::extension_param;
        descriptor_.create = &create;
        descriptor_.process = &process;
        descriptor_.destroy = &destroy;
        descriptor_.decode_hint = &decode_hint;
        descriptor_.name_param = T::name_param;
    }
    const bp_stage_descriptor *descriptor() const { return &descriptor_; }

private:
    static bp_status create(const bp_params *params, void **state, bp_error *err) noexcept {
        try {
            auto stage = std::make_unique<T>();
            for (size_t i = 0; params != nullptr && i < params->count; ++i) {
                const bp_param_value &v = params->values[i];
                for (ParamBase *p : stage->params())
                    if (std::strcmp(p->name(), v.name) == 0) p->assign(v);
            }
            stage->validate();
            *state = stage.release();
            return BP_OK;
        } catch (const std::exception &e) {
            copy_message(err, e.what());
        } catch (...) {
            copy_message(err, "unknown exception while creating the stage");
        }
        return BP_ERROR;
    }
    static bp_status process(void *state, const bp_host_api *host, bp_job *job, bp_error *err) noexcept {
        try {
            Job wrapped(host, job);
            static_cast<T *>(state)->process(wrapped);
            return BP_OK;
        } catch (const std::exception &e) {
            copy_message(err, e.what());
        } catch (...) {
            copy_message(err, "unknown exception in the stage");
        }
        return BP_ERROR;
    }
    static void destroy(void *state) noexcept { delete static_cast<T *>(state); }
    static int32_t decode_hint(void *state, int32_t width, int32_t height) noexcept {
        try {
            return static_cast<int32_t>(static_cast<const T *>(state)->decode_hint(width, height));
        } catch (...) {
            return 0;
        }
    }

    T prototype_;
    std::vector<const bp_param_schema *> schemas_;
    bp_stage_descriptor descriptor_{};
};

template <typename... Stages>
class PluginTables {
public:
    PluginTables(const char *id, const char *version, const char *doc) {
        stage_ptrs_ = {std::get<StageTable<Stages>>(tables_).descriptor()...};
        descriptor_.struct_size = sizeof(bp_plugin_descriptor);
        descriptor_.api_major = BP_API_VERSION_MAJOR;
        descriptor_.api_minor = BP_API_VERSION_MINOR;
        descriptor_.id = id;
        descriptor_.version = version;
        descriptor_.doc = doc;
        descriptor_.stage_count = stage_ptrs_.size();
        descriptor_.stages = stage_ptrs_.data();
    }
    const bp_plugin_descriptor *descriptor() const { return &descriptor_; }

private:
    std::tuple<StageTable<Stages>...> tables_;
    std::vector<const bp_stage_descriptor *> stage_ptrs_;
    bp_plugin_descriptor descriptor_{};
};

} // namespace detail

template <typename... Stages>
const bp_plugin_descriptor *make_plugin(const char *id, const char *version, const char *doc) {
    static const detail::PluginTables<Stages...> tables(id, version, doc);
    return tables.descriptor();
}

} // namespace batchproc

// Defines the plugin's entry symbol. Use once per plugin library.
#define BATCHPROC_PLUGIN(ID, VERSION, DOC, ...)                                                  \
    extern "C" BP_PLUGIN_EXPORT const bp_plugin_descriptor *bp_plugin_entry_v1(void) {          \
        try {                                                                                   \
            return ::batchproc::make_plugin<__VA_ARGS__>(ID, VERSION, DOC);                     \
        } catch (...) {                                                                         \
            return nullptr; /* a stage constructor threw: the host reports the plugin */        \
        }                                                                                       \
    }

#endif // BATCHPROC_PLUGIN_HPP
