#include "support/exiv2_edit.hpp"

namespace batchproc::test {

std::vector<uint8_t> edit_metadata(const std::vector<uint8_t> &encoded, const std::function<void(Exiv2::Image &)> &edit) {
    Exiv2::XmpParser::initialize();
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    Exiv2::Image::AutoPtr image = Exiv2::ImageFactory::open(encoded.data(), static_cast<long>(encoded.size()));
#pragma GCC diagnostic pop
    edit(*image);
    image->writeMetadata();
    Exiv2::BasicIo &io = image->io();
    io.seek(0, Exiv2::BasicIo::beg);
    const Exiv2::DataBuf out = io.read(static_cast<long>(io.size()));
    return std::vector<uint8_t>(out.pData_, out.pData_ + out.size_);
}

} // namespace batchproc::test
