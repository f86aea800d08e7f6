// A scalable font read with FreeType: one line of text laid out (with kerning where the
// font's kern table has it) and rendered anti-aliased into a coverage mask. No shaping:
// scripts whose letters join or reorder (Arabic, Indic) come out letter by letter.
#pragma once

#include <opencv2/core.hpp>

#include <string>

struct FT_LibraryRec_;
struct FT_FaceRec_;

namespace imgproc {

class Font {
public:
    // The largest font size FreeType takes, in pixels.
    static constexpr int kMaxPixelSize = 65535;

    // Opens a TrueType or OpenType file; throws std::runtime_error with a sentence naming it.
    explicit Font(const std::string &path);
    ~Font();
    Font(const Font &) = delete;
    Font &operator=(const Font &) = delete;

    // The characters of `text` that the font has no glyph for, each once, in text order.
    std::u32string missing(const std::u32string &text) const;

    // The size of the box around the ink of `text` at a font size of `pixel_size` pixels,
    // estimated from the glyph outlines without rendering them (cheap at any size). Empty
    // when nothing would be drawn (spaces only, or no glyph the font has).
    cv::Size measure(const std::u32string &text, int pixel_size);

    // The coverage of `text` (CV_8U, 0 = none, 255 = fully covered), cut to its ink.
    // Characters without a glyph are left out. Empty when nothing is drawn.
    cv::Mat render(const std::u32string &text, int pixel_size);

private:
    FT_LibraryRec_ *library_ = nullptr;
    FT_FaceRec_ *face_ = nullptr;
};

} // namespace imgproc
