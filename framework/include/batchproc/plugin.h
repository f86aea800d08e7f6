/*
 * batchproc plugin ABI, version 1 (plain C).
 *
 * A plugin is a shared library exporting one symbol, bp_plugin_entry_v1, that returns a
 * static descriptor. The host accepts a plugin whose api_major equals BP_API_VERSION_MAJOR
 * and whose api_minor is not newer than BP_API_VERSION_MINOR. Every struct carries its own
 * size so that it can grow at its end in later minor versions; arrays hold pointers to
 * structs for the same reason. Nothing crosses this boundary as a C++ type or exception.
 *
 * Most plugins are written against plugin.hpp, which builds these tables from small C++
 * classes. This header is the contract the host checks.
 */
#ifndef BATCHPROC_PLUGIN_H
#define BATCHPROC_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define BP_NOEXCEPT noexcept
extern "C" {
#else
#define BP_NOEXCEPT
#endif

#define BP_API_VERSION_MAJOR 1
#define BP_API_VERSION_MINOR 3

#define BP_PLUGIN_ENTRY_V1 bp_plugin_entry_v1
#define BP_PLUGIN_ENTRY_V1_NAME "bp_plugin_entry_v1"

#if defined(_WIN32)
#define BP_PLUGIN_EXPORT __declspec(dllexport)
#else
#define BP_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

typedef enum bp_status { BP_OK = 0, BP_ERROR = 1 } bp_status;

/* Sample depth of an image view. */
typedef enum bp_depth { BP_DEPTH_U8 = 0, BP_DEPTH_U16 = 1, BP_DEPTH_F32 = 2 } bp_depth;

/* A plain view of pixels: rows of width*channels samples, interleaved (BGR / BGRA order,
 * as OpenCV), `stride` bytes apart. The view does not own its pixels. */
typedef struct bp_image {
    void *data;
    int32_t width;
    int32_t height;
    int32_t channels;
    int32_t depth; /* bp_depth */
    size_t stride;
} bp_image;

typedef enum bp_param_type {
    BP_PARAM_INT = 0,    /* int64; min/max apply */
    BP_PARAM_FLOAT = 1,  /* double; min/max apply */
    BP_PARAM_BOOL = 2,
    BP_PARAM_STRING = 3, /* free text */
    BP_PARAM_CHOICE = 4, /* one of `choices` */
    /* Since API 1.2: a file that must exist and be readable. The host resolves a relative
     * path against the config file's folder (the working folder for --set) and refuses the
     * config when the file is missing; the stage gets the absolute path as string_value. */
    BP_PARAM_PATH = 5
} bp_param_type;

/* One parameter of a stage: the single declaration that drives validation, `batchproc
 * plugins` and the docs. default_value is written as it would be in YAML ("3", "area",
 * "true"); NULL means the parameter is optional with no default (unset). */
typedef struct bp_param_schema {
    uint32_t struct_size;
    const char *name;
    int32_t type; /* bp_param_type */
    const char *default_value;
    int32_t has_range;
    double min_value;
    double max_value;
    const char *const *choices; /* NULL-terminated, for BP_PARAM_CHOICE */
    const char *doc;
} bp_param_schema;

/* A validated parameter value. `is_set` is 0 for an optional parameter with no default
 * that the config did not give. */
typedef struct bp_param_value {
    const char *name;
    int32_t type; /* bp_param_type */
    int32_t is_set;
    int64_t int_value;
    double float_value;
    int32_t bool_value;
    const char *string_value; /* STRING, CHOICE and PATH */
} bp_param_value;

typedef struct bp_params {
    size_t count;
    const bp_param_value *values; /* one per schema entry, in schema order */
} bp_params;

/* Error text a boundary function fills when it returns BP_ERROR. */
typedef struct bp_error {
    char message[512];
} bp_error;

typedef struct bp_job bp_job; /* opaque: the host's per-job context */

/* How write_image encodes (since API 1.1). Each format reads the fields that apply to it. */
typedef struct bp_encode_options {
    uint32_t struct_size;
    int32_t quality;         /* jpg, webp, avif: 1..100 */
    int32_t progressive;     /* jpg: progressive scans */
    int32_t optimize;        /* jpg: optimised Huffman tables */
    int32_t subsampling;     /* jpg: chroma subsampling 420, 422 or 444 */
    int32_t lossless;        /* webp, avif */
    int32_t png_compression; /* png: zlib level 0..9 */
    double background[3];    /* blue, green, red (0..255) that alpha is blended over for
                                formats without alpha (jpg, bmp) */
} bp_encode_options;

/* Functions the host offers to a stage while it processes a job. */
typedef struct bp_host_api {
    uint32_t struct_size;
    /* The current image; returns 0 when the job has none (generated jobs). */
    int (*get_image)(bp_job *job, bp_image *out);
    /* Replace the current image. The host keeps `pixels` alive until it calls
     * release(opaque), which it does exactly once; release may be NULL when the pixels
     * live in host memory. */
    void (*set_image)(bp_job *job, const bp_image *pixels, void (*release)(void *), void *opaque);
    void (*set_metric_int)(bp_job *job, const char *key, int64_t value);
    void (*set_metric_float)(bp_job *job, const char *key, double value);
    void (*set_metric_string)(bp_job *job, const char *key, const char *value);
    /* Hand the encoded output file to the host, which writes it to a temporary name
     * and renames it when complete. Returns BP_ERROR with a message on failure. */
    bp_status (*write_output)(bp_job *job, const void *data, size_t size, bp_error *err);
    const char *(*input_path)(bp_job *job); /* "" for generated jobs */
    int64_t (*job_index)(bp_job *job);
    /* A warning recorded in the job's report entry. */
    void (*warn)(bp_job *job, const char *message);
    /* The size the current image stands for: the input's full size (after EXIF orientation)
     * while the current image is the decoder's output, which may have been decoded at a
     * reduced scale (shrink-on-load, see decode_hint); the current image's own size once a
     * stage has replaced it. Returns 0 when the job has no image. Stages that derive their
     * output size from the input's (resize) use it, so that outputs do not depend on
     * shrink-on-load. */
    int (*get_source_size)(bp_job *job, int32_t *width, int32_t *height);
    /* Since API 1.1 (check struct_size): encode `image` as `format` (an extension: "jpg",
     * "png", "webp", "tiff", "avif", "bmp"...) and write it as the job's output, as
     * write_output does. The host fits the image to the format first (alpha blended over
     * options->background where the format has none; 16-bit samples scaled to 8 where it
     * holds only 8). `encoded_size` (may be NULL) receives the file's size in bytes. */
    bp_status (*write_image)(bp_job *job, const bp_image *image, const char *format,
                             const bp_encode_options *options, uint64_t *encoded_size, bp_error *err);
    /* Since API 1.1: whether the host can write `format` (1) or not (0). */
    int (*can_write_format)(const char *format);
    /* Since API 1.2 (check struct_size): decode the image file at `path` with the host's
     * decoders, as an input is decoded (EXIF orientation applied, colour converted to sRGB,
     * alpha kept). On BP_OK, `out` views pixels the host owns until release_image(*handle),
     * which the stage calls exactly once; on BP_ERROR, `err` says why and nothing is held. */
    bp_status (*read_image)(bp_job *job, const char *path, bp_image *out, void **handle, bp_error *err);
    /* Since API 1.2: frees what read_image returned; NULL is ignored. */
    void (*release_image)(void *handle);
} bp_host_api;

/* Stage flags. */
#define BP_STAGE_NEEDS_IMAGE 0x1u   /* fails on jobs that read no file */
#define BP_STAGE_WRITES_OUTPUT 0x2u /* calls write_output or write_image; the pipeline's output stage */
/* Since API 1.3: the stage's code is not safe to run on two threads at once, even on separate
 * instances (global state, a library that is not thread-safe). The host then never runs two
 * calls of create, process or destroy of this stage at the same time in one process: in
 * threads mode they take turns (each thread still has its own instance). Without the flag a
 * stage must only keep its own instance's state to itself. */
#define BP_STAGE_NOT_THREAD_SAFE 0x4u

typedef struct bp_stage_descriptor {
    uint32_t struct_size;
    const char *name;
    const char *doc; /* one line */
    uint32_t flags;
    size_t param_count;
    const bp_param_schema *const *params;
    /* For BP_STAGE_WRITES_OUTPUT: the CHOICE parameter whose value is the output file's
     * extension ({ext}); a value of "auto" or an unset parameter keeps the input's. */
    const char *extension_param;
    bp_status (*create)(const bp_params *params, void **state, bp_error *err) BP_NOEXCEPT;
    bp_status (*process)(void *state, const bp_host_api *host, bp_job *job, bp_error *err) BP_NOEXCEPT;
    void (*destroy)(void *state) BP_NOEXCEPT;
    /* Optional (may be NULL). When this stage is the pipeline's first, the host asks it, for
     * an input of the given size (as the stage will see it: after EXIF orientation), for the
     * smallest long side of the decoded image from which it still produces its exact result;
     * the decoder may then decode JPEGs at 1/2, 1/4 or 1/8 scale down to that size
     * (shrink-on-load). 0 = the full image is needed. */
    int32_t (*decode_hint)(void *state, int32_t source_width, int32_t source_height) BP_NOEXCEPT;
    /* Since API 1.2, for BP_STAGE_WRITES_OUTPUT (may be NULL): the STRING parameter that names
     * this stage's output file, a template relative to output.dir with the placeholders of
     * output.name; unset, the file is named by output.name. A pipeline may hold several
     * output stages: each writes the image as it is at that point, to its own file. */
    const char *name_param;
} bp_stage_descriptor;

typedef struct bp_plugin_descriptor {
    uint32_t struct_size;
    uint32_t api_major;
    uint32_t api_minor;
    const char *id;      /* e.g. "imgproc" */
    const char *version; /* the plugin's own version, e.g. "1.2.0" */
    const char *doc;
    size_t stage_count;
    const bp_stage_descriptor *const *stages;
} bp_plugin_descriptor;

typedef const bp_plugin_descriptor *(*bp_plugin_entry_v1_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* BATCHPROC_PLUGIN_H */
