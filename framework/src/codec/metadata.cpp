#include "codec/metadata.hpp"

// exiv2 0.27 hands images out as std::auto_ptr.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#include <exiv2/exiv2.hpp>

#include <mutex>
#include <stdexcept>

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

} // namespace

struct SourceMetadata::Impl {
    Exiv2::ExifData exif;
    Exiv2::XmpData xmp;
    Exiv2::IptcData iptc;
};

SourceMetadata::SourceMetadata() = default;
SourceMetadata::~SourceMetadata() = default;
SourceMetadata::SourceMetadata(SourceMetadata &&) noexcept = default;
SourceMetadata &SourceMetadata::operator=(SourceMetadata &&) noexcept = default;

bool SourceMetadata::empty() const { return !impl_ || (impl_->exif.empty() && impl_->xmp.empty() && impl_->iptc.empty()); }

SourceMetadata SourceMetadata::read(const uint8_t *data, size_t size, std::string &warning) {
    init_exiv2();
    SourceMetadata m;
    try {
        Exiv2::Image::AutoPtr image = Exiv2::ImageFactory::open(data, static_cast<long>(size));
        image->readMetadata();
        m.impl_ = std::make_unique<Impl>();
        m.impl_->exif = image->exifData();
        m.impl_->xmp = image->xmpData();
        m.impl_->iptc = image->iptcData();
    } catch (const std::exception &e) {
        warning = std::string("its metadata cannot be read (") + e.what() + "); the output carries none";
        m.impl_.reset();
    }
    return m;
}

std::vector<uint8_t> embedded_icc_profile(const uint8_t *data, size_t size) {
    init_exiv2();
    try {
        Exiv2::Image::AutoPtr image = Exiv2::ImageFactory::open(data, static_cast<long>(size));
        image->readMetadata();
        if (!image->iccProfileDefined()) return {};
        const Exiv2::DataBuf *icc = image->iccProfile();
        return std::vector<uint8_t>(icc->pData_, icc->pData_ + icc->size_);
    } catch (const std::exception &) {
        return {}; // damaged metadata: the decoder's own checks speak for the pixels
    }
}

std::vector<uint8_t> apply_metadata(const void *encoded, size_t size, const MetadataPlan &plan) {
    init_exiv2();
    try {
        Exiv2::Image::AutoPtr image =
            Exiv2::ImageFactory::open(static_cast<const Exiv2::byte *>(encoded), static_cast<long>(size));
        image->clearMetadata();
        if (plan.source != nullptr && plan.source->impl_) {
            Exiv2::ExifData exif = plan.source->impl_->exif;
            Exiv2::XmpData xmp = plan.source->impl_->xmp;
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
            image->setIptcData(plan.source->impl_->iptc);
        }
        if (!plan.icc.empty()) {
            Exiv2::DataBuf icc(plan.icc.data(), static_cast<long>(plan.icc.size()));
            image->setIccProfile(icc, true);
        }
        image->writeMetadata();
        Exiv2::BasicIo &io = image->io();
        io.seek(0, Exiv2::BasicIo::beg);
        const Exiv2::DataBuf out = io.read(static_cast<long>(io.size()));
        return std::vector<uint8_t>(out.pData_, out.pData_ + out.size_);
    } catch (const std::exception &e) {
        throw std::runtime_error(std::string("cannot write metadata into the output: ") + e.what());
    }
}

} // namespace batchproc

#pragma GCC diagnostic pop
