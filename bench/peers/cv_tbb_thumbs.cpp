// A peer for bench/compare_peers.sh: the thumbnail workload written by hand with OpenCV and
// oneTBB, no framework. What a C++ user would write in an afternoon:
//
//   cv_tbb_thumbs IN_DIR OUT_DIR [--threads 2] [--size 256] [--quality 85] [--reduced]
//
// Every *.jpg / *.jpeg / *.png / *.webp in IN_DIR (not recursive) -> OUT_DIR/<stem>.jpg: long
// side SIZE with INTER_AREA, GaussianBlur 3x3 (sigma derived from the size, as OpenCV does for
// sigma 0), imwrite at JPEG quality QUALITY. One file per TBB task, inside a task_arena of
// THREADS threads; OpenCV's own threading off (cv::setNumThreads(1)), so THREADS images are
// in flight at once, as with THREADS single-threaded worker processes.
//
// JPEGs are read with IMREAD_COLOR; PNG and WebP with IMREAD_UNCHANGED, so that an alpha
// channel survives: such an image is resized and blurred with its alpha as a 4th channel
// (straight, not premultiplied: what cv::resize does) and composited over white just
// before the JPEG is written, as batchproc's save does for formats without alpha. 16-bit
// images are scaled to 8 bits after the resize.
//
// --reduced: decode JPEGs at 1/2, 1/4 or 1/8 scale (cv::IMREAD_REDUCED_COLOR_*; libjpeg's
// DCT scaling), the largest factor that still leaves the long side >= SIZE. This is
// shrink-on-load, the strongest plain-OpenCV ceiling for this workload. Without it, imread
// decodes the full image, as a plain user's code does. Other formats are always decoded at
// full size (imread has no reduced decode for them).
//
// Build: g++ -O2 -std=c++17 cv_tbb_thumbs.cpp $(pkg-config --cflags --libs opencv4 tbb)

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

struct Options {
    fs::path in_dir, out_dir;
    int threads = 2;
    int size = 256;
    int quality = 85;
    bool reduced = false;
};

[[noreturn]] void usage(const char *msg) {
    std::fprintf(stderr, "cv_tbb_thumbs: %s\nusage: cv_tbb_thumbs IN_DIR OUT_DIR [--threads N] [--size PX] "
                         "[--quality Q] [--reduced]\n", msg);
    std::exit(2);
}

Options parse(int argc, char **argv) {
    Options o;
    std::vector<std::string> positional;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> int {
            if (i + 1 >= argc) usage(("missing value after " + a).c_str());
            return std::atoi(argv[++i]);
        };
        if (a == "--threads") o.threads = value();
        else if (a == "--size") o.size = value();
        else if (a == "--quality") o.quality = value();
        else if (a == "--reduced") o.reduced = true;
        else if (!a.empty() && a[0] == '-') usage(("unknown option " + a).c_str());
        else positional.push_back(a);
    }
    if (positional.size() != 2) usage("expected IN_DIR and OUT_DIR");
    if (o.threads < 1 || o.size < 1 || o.quality < 0 || o.quality > 100) usage("bad option value");
    o.in_dir = positional[0];
    o.out_dir = positional[1];
    return o;
}

// Width and height from a JPEG's SOF marker; false if the file is not a baseline or
// progressive JPEG we can read the size of.
bool jpeg_size(const fs::path &path, int &width, int &height) {
    std::ifstream f(path, std::ios::binary);
    std::vector<unsigned char> b(256 * 1024);
    f.read(reinterpret_cast<char *>(b.data()), static_cast<std::streamsize>(b.size()));
    const size_t n = static_cast<size_t>(f.gcount());
    if (n < 4 || b[0] != 0xFF || b[1] != 0xD8) return false;
    size_t i = 2;
    while (i + 4 <= n) {
        if (b[i] != 0xFF) return false;
        const unsigned char marker = b[i + 1];
        if (marker == 0xFF) { ++i; continue; } // fill byte
        if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) { i += 2; continue; }
        const size_t len = (size_t(b[i + 2]) << 8) | b[i + 3];
        const bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
        if (sof) {
            if (i + 9 > n) return false;
            height = (b[i + 5] << 8) | b[i + 6];
            width = (b[i + 7] << 8) | b[i + 8];
            return width > 0 && height > 0;
        }
        if (marker == 0xDA) return false; // start of scan before any SOF
        i += 2 + len;
    }
    return false;
}

bool is_jpeg(const fs::path &path) {
    std::ifstream f(path, std::ios::binary);
    unsigned char b[2] = {0, 0};
    f.read(reinterpret_cast<char *>(b), 2);
    return f.gcount() == 2 && b[0] == 0xFF && b[1] == 0xD8;
}

// The imread flag: JPEGs in colour, at full size or the largest reduction that keeps the long
// side >= size; anything else unchanged (alpha kept).
int read_flag(const fs::path &path, const Options &o) {
    if (!is_jpeg(path)) return cv::IMREAD_UNCHANGED;
    if (!o.reduced) return cv::IMREAD_COLOR;
    int w = 0, h = 0;
    if (!jpeg_size(path, w, h)) return cv::IMREAD_COLOR;
    const int long_side = std::max(w, h);
    if (long_side >= 8 * o.size) return cv::IMREAD_REDUCED_COLOR_8;
    if (long_side >= 4 * o.size) return cv::IMREAD_REDUCED_COLOR_4;
    if (long_side >= 2 * o.size) return cv::IMREAD_REDUCED_COLOR_2;
    return cv::IMREAD_COLOR;
}

// BGRA -> BGR over a white background: c * a + 255 * (1 - a), in integers, rounded.
cv::Mat over_white(const cv::Mat &bgra) {
    cv::Mat bgr(bgra.size(), CV_8UC3);
    for (int y = 0; y < bgra.rows; ++y) {
        const uint8_t *s = bgra.ptr<uint8_t>(y);
        uint8_t *d = bgr.ptr<uint8_t>(y);
        for (int x = 0; x < bgra.cols; ++x, s += 4, d += 3) {
            const unsigned a = s[3];
            for (int c = 0; c < 3; ++c) d[c] = uint8_t((s[c] * a + 255u * (255u - a) + 127u) / 255u);
        }
    }
    return bgr;
}

bool process(const fs::path &in, const Options &o) {
    cv::Mat img = cv::imread(in.string(), read_flag(in, o));
    if (img.empty()) {
        std::fprintf(stderr, "cv_tbb_thumbs: cannot read %s\n", in.c_str());
        return false;
    }
    const int long_side = std::max(img.cols, img.rows);
    cv::Mat small;
    if (long_side > o.size) {
        const double f = double(o.size) / long_side;
        const cv::Size to(std::max(1, int(std::lround(img.cols * f))), std::max(1, int(std::lround(img.rows * f))));
        cv::resize(img, small, to, 0, 0, cv::INTER_AREA);
    } else {
        small = img;
    }
    img.release();
    if (small.depth() != CV_8U) small.convertTo(small, CV_8U, small.depth() == CV_16U ? 1.0 / 257 : 255.0);
    cv::Mat blurred;
    cv::GaussianBlur(small, blurred, cv::Size(3, 3), 0);
    if (blurred.channels() == 4) blurred = over_white(blurred);
    const fs::path out = o.out_dir / (in.stem().string() + ".jpg");
    if (!cv::imwrite(out.string(), blurred, {cv::IMWRITE_JPEG_QUALITY, o.quality})) {
        std::fprintf(stderr, "cv_tbb_thumbs: cannot write %s\n", out.c_str());
        return false;
    }
    return true;
}

} // namespace

int main(int argc, char **argv) {
    const Options o = parse(argc, argv);
    cv::setNumThreads(1);
    std::vector<fs::path> files;
    for (const auto &e : fs::directory_iterator(o.in_dir)) {
        if (!e.is_regular_file()) continue;
        std::string ext = e.path().extension().string();
        std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
        if (ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".webp") files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    fs::create_directories(o.out_dir);

    std::atomic<int> failed{0};
    tbb::task_arena arena(o.threads);
    arena.execute([&] {
        tbb::parallel_for(tbb::blocked_range<size_t>(0, files.size(), 1), [&](const tbb::blocked_range<size_t> &r) {
            for (size_t i = r.begin(); i != r.end(); ++i)
                if (!process(files[i], o)) ++failed;
        });
    });
    std::printf("cv_tbb_thumbs: %zu files, %d failed, %d threads%s\n", files.size(), failed.load(), o.threads,
                o.reduced ? ", reduced decode" : "");
    return failed.load() == 0 ? 0 : 1;
}
