// Lesson 7: a parallel image job — a folder of images thumbnailed by a pool, serial against
// parallel timing. The images are binary PPM files the program makes itself, so that the sample
// needs nothing but batchproc::mp (the batch engine does the same job with OpenCV).
#include <batchproc/mp/pool.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace mp = batchproc::mp;

struct Image {
    int width = 0, height = 0;
    std::vector<unsigned char> rgb;
};

Image read_ppm(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    std::string magic;
    int maxval = 0;
    Image image;
    in >> magic >> image.width >> image.height >> maxval;
    in.get();
    if (magic != "P6" || maxval != 255) throw std::runtime_error(path + ": not a binary 8-bit PPM");
    image.rgb.resize(static_cast<std::size_t>(image.width) * image.height * 3);
    in.read(reinterpret_cast<char *>(image.rgb.data()), static_cast<std::streamsize>(image.rgb.size()));
    return image;
}

void write_ppm(const std::string &path, const Image &image) {
    std::ofstream out(path, std::ios::binary);
    out << "P6\n" << image.width << " " << image.height << "\n255\n";
    out.write(reinterpret_cast<const char *>(image.rgb.data()), static_cast<std::streamsize>(image.rgb.size()));
}

// Shrinks `input` by an integer factor (box filter) into `output`; returns "WxH -> wxh".
std::string thumbnail(std::string input, std::string output, int factor) {
    const Image big = read_ppm(input);
    Image small;
    small.width = big.width / factor;
    small.height = big.height / factor;
    small.rgb.resize(static_cast<std::size_t>(small.width) * small.height * 3);
    for (int y = 0; y < small.height; ++y)
        for (int x = 0; x < small.width; ++x)
            for (int c = 0; c < 3; ++c) {
                unsigned sum = 0;
                for (int dy = 0; dy < factor; ++dy)
                    for (int dx = 0; dx < factor; ++dx)
                        sum += big.rgb[(static_cast<std::size_t>(y * factor + dy) * big.width + x * factor + dx) * 3 + c];
                small.rgb[(static_cast<std::size_t>(y) * small.width + x) * 3 + c] =
                    static_cast<unsigned char>(sum / (factor * factor));
            }
    write_ppm(output, small);
    return std::to_string(big.width) + "x" + std::to_string(big.height) + " -> " + std::to_string(small.width) + "x" +
           std::to_string(small.height);
}
BATCHPROC_MP_TASK(thumbnail);

int main() {
    char folder[] = "/tmp/bp-mp-thumbs-XXXXXX";
    if (::mkdtemp(folder) == nullptr) return 1;
    const int count = 8;
    std::vector<std::tuple<std::string, std::string, int>> jobs;
    for (int i = 0; i < count; ++i) {
        Image image;
        image.width = 1600;
        image.height = 1200;
        image.rgb.resize(static_cast<std::size_t>(image.width) * image.height * 3);
        for (std::size_t p = 0; p < image.rgb.size(); ++p) image.rgb[p] = static_cast<unsigned char>((p * (i + 3)) % 251);
        const std::string name = std::string(folder) + "/photo" + std::to_string(i);
        write_ppm(name + ".ppm", image);
        jobs.emplace_back(name + ".ppm", name + ".thumb.ppm", 10);
    }
    std::printf("%d images of 1600x1200 in %s\n", count, folder);

    auto start = std::chrono::steady_clock::now();
    std::string last;
    for (const auto &[in, out, factor] : jobs) last = thumbnail(in, out, factor);
    const double serial_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    mp::Pool pool(4);
    start = std::chrono::steady_clock::now();
    const std::vector<std::string> done = pool.starmap(thumbnail, jobs, 1);
    const double parallel_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    std::printf("each thumbnail: %s\n", done.back().c_str());
    std::printf("%zu thumbnails; serial %.3f s, pool of 4 %.3f s, speedup %.2fx\n", done.size(), serial_s, parallel_s,
                serial_s / parallel_s);
    for (const auto &[in, out, factor] : jobs) {
        std::remove(in.c_str());
        std::remove(out.c_str());
    }
    ::rmdir(folder);
}
