#include "font.hpp"

#include "utf8.hpp"

#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_OUTLINE_H

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

namespace imgproc {

namespace {

// FreeType's own table of error texts (the documented FT_ERRORDEF idiom): Debian builds
// FreeType without FT_Error_String's strings.
struct ErrorText {
    int code;
    const char *text;
};
#undef FTERRORS_H_
#define FT_ERRORDEF(e, v, s) {e, s},
#define FT_ERROR_START_LIST {
#define FT_ERROR_END_LIST {0, nullptr}};
const ErrorText kErrorTexts[] =
#include FT_ERRORS_H

std::string error_text(FT_Error error) {
    for (const ErrorText &e : kErrorTexts)
        if (e.text != nullptr && e.code == error) return std::string(e.text) + ", FreeType error " + std::to_string(error);
    return "FreeType error " + std::to_string(error);
}

// Loads each glyph of `text` in turn at `pixel_size` and calls fn(pen_x, slot), pen_x
// being the glyph's origin in whole pixels on the baseline. Hinted advances and kerning
// are whole pixels, so glyphs land on the pixel grid exactly as FreeType rendered them.
template <typename Fn>
void for_each_glyph(FT_Face face, const std::u32string &text, int pixel_size, Fn &&fn) {
    const int size = std::clamp(pixel_size, 1, Font::kMaxPixelSize);
    if (const FT_Error e = FT_Set_Pixel_Sizes(face, 0, static_cast<FT_UInt>(size)))
        throw std::runtime_error("the font cannot be set to " + std::to_string(size) + " pixels: " + error_text(e));
    const bool kerning = FT_HAS_KERNING(face);
    FT_UInt previous = 0;
    long pen = 0;
    for (const char32_t cp : text) {
        const FT_UInt index = FT_Get_Char_Index(face, cp);
        if (index == 0) continue; // no glyph: Font::missing() names these
        if (kerning && previous != 0) {
            FT_Vector delta{};
            if (FT_Get_Kerning(face, previous, index, FT_KERNING_DEFAULT, &delta) == 0)
                pen += std::lround(delta.x / 64.0);
        }
        if (const FT_Error e = FT_Load_Glyph(face, index, FT_LOAD_DEFAULT | FT_LOAD_NO_BITMAP))
            throw std::runtime_error("the font cannot load its glyph for " + code_point_name(cp) + ": " +
                                     error_text(e));
        fn(pen, face->glyph);
        pen += std::lround(face->glyph->advance.x / 64.0);
        previous = index;
    }
}

} // namespace

Font::Font(const std::string &path) {
    FT_Library library = nullptr;
    if (const FT_Error e = FT_Init_FreeType(&library))
        throw std::runtime_error("FreeType could not start: " + error_text(e));
    library_ = library;
    FT_Face face = nullptr;
    if (const FT_Error e = FT_New_Face(library, path.c_str(), 0, &face)) {
        FT_Done_FreeType(library);
        throw std::runtime_error(path + " is not a font FreeType can read (" + error_text(e) +
                                 "); give a TrueType or OpenType file (.ttf, .otf)");
    }
    face_ = face;
    std::string problem;
    if (!FT_IS_SCALABLE(face))
        problem = " is a bitmap font; give a scalable TrueType or OpenType file (.ttf, .otf)";
    else if (FT_Select_Charmap(face, FT_ENCODING_UNICODE) != 0)
        problem = " has no Unicode character map; give a TrueType or OpenType file that has one";
    if (!problem.empty()) {
        FT_Done_Face(face);
        FT_Done_FreeType(library);
        throw std::runtime_error(path + problem);
    }
}

Font::~Font() {
    FT_Done_Face(face_);
    FT_Done_FreeType(library_);
}

std::u32string Font::missing(const std::u32string &text) const {
    std::u32string out;
    for (const char32_t cp : text)
        if (FT_Get_Char_Index(face_, cp) == 0 && out.find(cp) == std::u32string::npos) out.push_back(cp);
    return out;
}

cv::Size Font::measure(const std::u32string &text, int pixel_size) {
    cv::Rect box;
    for_each_glyph(face_, text, pixel_size, [&](long pen, FT_GlyphSlot slot) {
        if (slot->format != FT_GLYPH_FORMAT_OUTLINE || slot->outline.n_points == 0) return;
        FT_BBox cb{};
        FT_Outline_Get_CBox(&slot->outline, &cb);
        // The rasteriser's box: the outline's, widened to whole pixels (y grows downwards here).
        const long x0 = pen + static_cast<long>(std::floor(cb.xMin / 64.0));
        const long x1 = pen + static_cast<long>(std::ceil(cb.xMax / 64.0));
        const long y0 = -static_cast<long>(std::ceil(cb.yMax / 64.0));
        const long y1 = -static_cast<long>(std::floor(cb.yMin / 64.0));
        if (x1 <= x0 || y1 <= y0) return;
        const cv::Rect glyph(int(x0), int(y0), int(x1 - x0), int(y1 - y0));
        box = box.empty() ? glyph : (box | glyph);
    });
    return box.size();
}

cv::Mat Font::render(const std::u32string &text, int pixel_size) {
    struct Placed {
        cv::Mat coverage;
        cv::Point at; // top-left, relative to the pen's start on the baseline
    };
    std::vector<Placed> glyphs;
    cv::Rect box;
    for_each_glyph(face_, text, pixel_size, [&](long pen, FT_GlyphSlot slot) {
        if (const FT_Error e = FT_Render_Glyph(slot, FT_RENDER_MODE_NORMAL))
            throw std::runtime_error("the font cannot render a glyph: " + error_text(e));
        const FT_Bitmap &bm = slot->bitmap;
        if (bm.width == 0 || bm.rows == 0 || bm.pixel_mode != FT_PIXEL_MODE_GRAY) return;
        cv::Mat coverage(int(bm.rows), int(bm.width), CV_8U);
        for (int r = 0; r < coverage.rows; ++r) {
            // A negative pitch means the rows are stored bottom-up.
            const unsigned char *row = bm.pitch >= 0 ? bm.buffer + long(r) * bm.pitch
                                                     : bm.buffer + long(coverage.rows - 1 - r) * -bm.pitch;
            uchar *dst = coverage.ptr<uchar>(r);
            if (bm.num_grays == 256) {
                std::copy(row, row + coverage.cols, dst);
            } else {
                for (int c = 0; c < coverage.cols; ++c) dst[c] = uchar(row[c] * 255 / (bm.num_grays - 1));
            }
        }
        const cv::Point at(int(pen) + slot->bitmap_left, -slot->bitmap_top);
        const cv::Rect glyph(at, coverage.size());
        box = box.empty() ? glyph : (box | glyph);
        glyphs.push_back({std::move(coverage), at});
    });
    if (box.empty()) return cv::Mat();
    cv::Mat mask = cv::Mat::zeros(box.size(), CV_8U);
    for (const Placed &g : glyphs) {
        cv::Mat area = mask(cv::Rect(g.at - box.tl(), g.coverage.size()));
        cv::max(area, g.coverage, area); // overlapping glyphs (kerned pairs, marks) keep the stronger coverage
    }
    return mask;
}

} // namespace imgproc
