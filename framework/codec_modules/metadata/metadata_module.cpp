// The metadata module: EXIF, XMP, IPTC and ICC profiles read from inputs and written into
// outputs through exiv2 (codec/metadata_module.hpp; the engine's side is codec/metadata.cpp).
#include "codec/metadata_module.hpp"

// exiv2 0.27 hands images out as std::auto_ptr.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#include <exiv2/exiv2.hpp>

#include <memory>
#include <mutex>

namespace batchproc {
namespace {

// exiv2's XMP toolkit must be set up once, with a lock of ours so that threads mode may
// parse XMP in several threads; its log stays quiet (what matters reaches the report as a
// warning or an error).
std::mutex g_xmp_mutex;
void xmp_lock(void *mutex, bool lock) {
    auto *m = static_cast<std::mutex *>(mutex);
    if (lock) m->lock();
    else m->unlock();
}
void init_exiv2() {
    static std::once_flag once;
    std::call_once(once, [] {
        Exiv2::LogMsg::setLevel(Exiv2::LogMsg::mute);
        Exiv2::XmpParser::initialize(xmp_lock, &g_xmp_mutex);
    });
}

template <typename Data>
void erase_if_key_contains(Data &data, const char *text) {
    for (auto it = data.begin(); it != data.end();) {
        if (it->key().find(text) != std::string::npos) it = data.erase(it);
        else ++it;
    }
}

// What `read` hands out.
struct Metadata {
    Exiv2::ExifData exif;
    Exiv2::XmpData xmp;
    Exiv2::IptcData iptc;
};

void *read(const uint8_t *data, size_t size, std::string &warning) noexcept {
    try {
        try {
            init_exiv2();
            Exiv2::Image::AutoPtr image = Exiv2::ImageFactory::open(data, static_cast<long>(size));
            image->readMetadata();
            auto m = std::make_unique<Metadata>();
            m->exif = image->exifData();
            m->xmp = image->xmpData();
            m->iptc = image->iptcData();
            return m.release();
        } catch (const std::exception &e) {
            warning = std::string("its metadata cannot be read (") + e.what() + "); the output carries none";
        } catch (...) {
            warning = "its metadata cannot be read; the output carries none";
        }
    } catch (...) {
        warning.clear();
    }
    return nullptr;
}

bool empty(const void *metadata) noexcept {
    const auto *m = static_cast<const Metadata *>(metadata);
    return !m || (m->exif.empty() && m->xmp.empty() && m->iptc.empty());
}

void release(void *metadata) noexcept { delete static_cast<Metadata *>(metadata); }

void embedded_icc_profile(const uint8_t *data, size_t size, std::vector<uint8_t> &icc) noexcept {
    icc.clear();
    try {
        init_exiv2();
        Exiv2::Image::AutoPtr image = Exiv2::ImageFactory::open(data, static_cast<long>(size));
        image->readMetadata();
        if (!image->iccProfileDefined()) return;
        const Exiv2::DataBuf *profile = image->iccProfile();
        icc.assign(profile->pData_, profile->pData_ + profile->size_);
    } catch (...) {
        icc.clear(); // damaged metadata: the decoder's own checks speak for the pixels
    }
}

bool apply(const uint8_t *encoded, size_t size, const void *source, const MetadataPlan &plan,
           std::vector<uint8_t> &out, std::string &error) noexcept {
    try {
        try {
            init_exiv2();
            Exiv2::Image::AutoPtr image = Exiv2::ImageFactory::open(encoded, static_cast<long>(size));
            image->clearMetadata();
            if (const auto *from = static_cast<const Metadata *>(source)) {
                Exiv2::ExifData exif = from->exif;
                Exiv2::XmpData xmp = from->xmp;
                Exiv2::ExifThumb(exif).erase();
                if (plan.reset_orientation) {
                    if (exif.findKey(Exiv2::ExifKey("Exif.Image.Orientation")) != exif.end())
                        exif["Exif.Image.Orientation"] = static_cast<uint16_t>(1);
                    if (xmp.findKey(Exiv2::XmpKey("Xmp.tiff.Orientation")) != xmp.end()) xmp["Xmp.tiff.Orientation"] = "1";
                }
                if (plan.width > 0 && plan.height > 0) {
                    for (const char *key : {"Exif.Photo.PixelXDimension", "Exif.Image.ImageWidth"})
                        if (exif.findKey(Exiv2::ExifKey(key)) != exif.end()) exif[key] = static_cast<uint32_t>(plan.width);
                    for (const char *key : {"Exif.Photo.PixelYDimension", "Exif.Image.ImageLength"})
                        if (exif.findKey(Exiv2::ExifKey(key)) != exif.end()) exif[key] = static_cast<uint32_t>(plan.height);
                }
                if (plan.strip_gps) {
                    erase_if_key_contains(exif, ".GPSInfo.");
                    erase_if_key_contains(xmp, ".GPS");
                }
                image->setExifData(exif);
                image->setXmpData(xmp);
                image->setIptcData(from->iptc);
            }
            if (!plan.icc.empty()) {
                Exiv2::DataBuf icc(plan.icc.data(), static_cast<long>(plan.icc.size()));
                image->setIccProfile(icc, true);
            }
            image->writeMetadata();
            Exiv2::BasicIo &io = image->io();
            io.seek(0, Exiv2::BasicIo::beg);
            const Exiv2::DataBuf written = io.read(static_cast<long>(io.size()));
            out.assign(written.pData_, written.pData_ + written.size_);
            return true;
        } catch (const std::exception &e) {
            error = std::string("cannot write metadata into the output: ") + e.what();
        } catch (...) {
            error = "cannot write metadata into the output: unknown error";
        }
    } catch (...) {
        error.clear(); // no memory left even for the sentence
    }
    return false;
}

const MetadataModuleApi kApi{MetadataModuleApi::kVersion, read, empty, release, embedded_icc_profile, apply};

} // namespace
} // namespace batchproc

#pragma GCC diagnostic pop

// Returned as const void *, the type module_table (codec/codec_module.hpp) calls every entry
// through: calling a function through a pointer of another type is undefined behaviour.
extern "C" __attribute__((visibility("default"))) const void *batchproc_metadata() {
    return &batchproc::kApi;
}
