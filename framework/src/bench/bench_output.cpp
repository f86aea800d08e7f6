// Bench rows as numbers (stats, speedup, efficiency) and as text: the table, the mismatch
// lines, JSON, CSV and the SVG chart. Pure functions: no I/O.
#include "bench/bench.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <utility>

namespace batchproc {

namespace {

std::string format(const char *fmt, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, fmt, v);
    return buf;
}

// v with 6 significant digits: JSON and CSV carry what a person can use, not float noise.
double round6(double v) {
    if (!std::isfinite(v)) return 0;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return std::strtod(buf, nullptr);
}

std::string num6(double v) { return format("%.6g", round6(v)); }

std::string pad(const std::string &s, size_t width, bool right) {
    if (s.size() >= width) return s;
    return right ? std::string(width - s.size(), ' ') + s : s + std::string(width - s.size(), ' ');
}

std::string xml_escape(const std::string &text) {
    std::string out;
    for (char c : text) {
        switch (c) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '"':
            out += "&quot;";
            break;
        default:
            out += c;
        }
    }
    return out;
}

// A "nice" tick step (1, 2 or 5 x 10^k) giving at most about `max_ticks` ticks over `range`.
double nice_step(double range, int max_ticks) {
    if (range <= 0) return 1;
    const double raw = range / max_ticks;
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (m * mag >= raw) return m * mag;
    return 10 * mag;
}

std::string tick_text(double v) {
    if (std::fabs(v - std::round(v)) < 1e-9) return format("%.0f", v);
    return format("%g", round6(v));
}

std::string series_name(const BenchRow &r) {
    return r.start_method.empty() ? r.mode : r.mode + " (" + r.start_method + ")";
}

} // namespace

WallStats wall_stats(std::vector<double> samples) {
    WallStats s;
    if (samples.empty()) return s;
    std::sort(samples.begin(), samples.end());
    const size_t n = samples.size();
    s.min = samples.front();
    s.max = samples.back();
    s.median = n % 2 == 1 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
    return s;
}

double bench_speedup(double serial_median_s, double row_median_s) {
    return row_median_s > 0 ? serial_median_s / row_median_s : 0.0;
}

double bench_efficiency(double speedup, int workers) { return workers > 0 ? speedup / workers : 0.0; }

void finish_rows(std::vector<BenchRow> &rows) {
    double serial = 0;
    for (BenchRow &r : rows) {
        r.wall = wall_stats(r.wall_s);
        r.jobs_per_s = r.wall.median > 0 ? double(r.jobs) / r.wall.median : 0.0;
        if (r.mode == "serial" && serial <= 0) serial = r.wall.median;
    }
    for (BenchRow &r : rows) {
        r.speedup = serial > 0 ? bench_speedup(serial, r.wall.median) : 0.0;
        r.efficiency = bench_efficiency(r.speedup, r.workers);
    }
}

std::string row_label(const BenchRow &r) {
    std::string s = r.mode + ", " + std::to_string(r.workers) + (r.workers == 1 ? " worker" : " workers");
    if (!r.start_method.empty()) s += ", " + r.start_method;
    return s;
}

std::string format_table(const std::vector<BenchRow> &rows) {
    const std::vector<std::string> head{"mode",   "workers", "start method", "wall s: median (min-max)",
                                        "jobs/s", "speedup", "efficiency",   "failed",
                                        "outputs"};
    const std::vector<bool> right{false, true, false, false, true, true, true, true, false};
    std::vector<std::vector<std::string>> cells;
    bool reference_only = false;
    for (const BenchRow &r : rows) {
        std::vector<std::string> c;
        c.push_back(r.requested ? r.mode : r.mode + "*");
        reference_only = reference_only || !r.requested;
        c.push_back(std::to_string(r.workers));
        c.push_back(r.start_method.empty() ? "-" : r.start_method);
        // Milliseconds-long runs would all read 0.000: three significant digits there.
        const char *wall_fmt = r.wall.median == 0 || r.wall.median >= 0.01 ? "%.3f" : "%.3g";
        c.push_back(format(wall_fmt, r.wall.median) + " (" + format(wall_fmt, r.wall.min) + "-" +
                    format(wall_fmt, r.wall.max) + ")");
        c.push_back(format(r.jobs_per_s >= 100 ? "%.1f" : "%.2f", r.jobs_per_s));
        c.push_back(format("%.2f", r.speedup));
        c.push_back(format("%.2f", r.efficiency));
        c.push_back(std::to_string(r.failed));
        if (!r.outputs_match)
            c.push_back("MISMATCH");
        else
            c.push_back(r.mode == "serial" ? "reference" : "match");
        cells.push_back(std::move(c));
    }
    std::vector<size_t> width(head.size());
    for (size_t i = 0; i < head.size(); ++i) {
        width[i] = head[i].size();
        for (const auto &c : cells) width[i] = std::max(width[i], c[i].size());
    }
    auto line = [&](const std::vector<std::string> &c) {
        std::string s;
        for (size_t i = 0; i < c.size(); ++i) {
            if (i > 0) s += "  ";
            s += i + 1 == c.size() ? c[i] : pad(c[i], width[i], right[i]);
        }
        return s + "\n";
    };
    std::string out = line(head);
    for (const auto &c : cells) out += line(c);
    if (reference_only) out += "* serial is not in --modes: it ran only as the reference for speedup and outputs\n";
    return out;
}

std::string format_mismatches(const std::vector<BenchRow> &rows) {
    std::string out;
    for (const BenchRow &r : rows)
        if (!r.outputs_match)
            out += "MISMATCH: " + row_label(r) + ": outputs differ from the serial run: " +
                   (r.mismatch.empty() ? std::string("(no detail)") : r.mismatch) + "\n";
    return out;
}

nlohmann::ordered_json rows_json(const std::vector<BenchRow> &rows) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const BenchRow &r : rows) {
        if (!r.requested) continue;
        nlohmann::ordered_json j;
        j["mode"] = r.mode;
        j["workers"] = r.workers;
        j["start_method"] =
            r.start_method.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.start_method);
        j["wall_s"] = {{"median", round6(r.wall.median)}, {"min", round6(r.wall.min)}, {"max", round6(r.wall.max)}};
        j["jobs_per_s"] = round6(r.jobs_per_s);
        j["speedup"] = round6(r.speedup);
        j["efficiency"] = round6(r.efficiency);
        j["outputs_match"] = r.outputs_match;
        list.push_back(std::move(j));
    }
    nlohmann::ordered_json out;
    out["rows"] = std::move(list);
    return out;
}

std::string rows_csv(const std::vector<BenchRow> &rows) {
    std::string out = "mode,workers,start_method,wall_median_s,wall_min_s,wall_max_s,jobs_per_s,speedup,efficiency,"
                      "outputs_match,failed\n";
    for (const BenchRow &r : rows) {
        if (!r.requested) continue;
        out += r.mode + "," + std::to_string(r.workers) + "," + r.start_method + "," + num6(r.wall.median) + "," +
               num6(r.wall.min) + "," + num6(r.wall.max) + "," + num6(r.jobs_per_s) + "," + num6(r.speedup) + "," +
               num6(r.efficiency) + "," + (r.outputs_match ? "true" : "false") + "," + std::to_string(r.failed) + "\n";
    }
    return out;
}

std::string speedup_svg(const std::vector<BenchRow> &rows, const std::string &title) {
    // Series in order of first appearance, points sorted by workers.
    std::vector<std::pair<std::string, std::vector<std::pair<int, double>>>> series;
    int max_workers = 1;
    double max_speedup = 1;
    for (const BenchRow &r : rows) {
        if (!r.requested) continue;
        const std::string name = series_name(r);
        auto it = std::find_if(series.begin(), series.end(), [&](const auto &s) { return s.first == name; });
        if (it == series.end()) {
            series.push_back({name, {}});
            it = series.end() - 1;
        }
        it->second.push_back({r.workers, r.speedup});
        max_workers = std::max(max_workers, r.workers);
        if (std::isfinite(r.speedup)) max_speedup = std::max(max_speedup, r.speedup);
    }
    for (auto &s : series) std::sort(s.second.begin(), s.second.end());

    const double width = 760, height = 460;
    const double left = 70, right = width - 210, top = 50, bottom = height - 60;
    const double x_max = max_workers;
    const double x_step = std::max(1.0, std::round(nice_step(x_max, 10)));
    const double y_step = nice_step(std::max(max_speedup, x_max), 8);
    const double y_max = std::ceil(std::max(max_speedup, x_max) / y_step) * y_step;
    auto px = [&](double x) { return left + (right - left) * x / x_max; };
    auto py = [&](double y) { return bottom - (bottom - top) * y / y_max; };
    auto f1 = [](double v) { return format("%.1f", v); };

    static const char *const kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                          "#9467bd", "#8c564b", "#e377c2", "#17becf"};
    std::string s;
    s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + f1(width) + "\" height=\"" + f1(height) +
         "\" viewBox=\"0 0 " + f1(width) + " " + f1(height) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
    s += "  <rect x=\"0\" y=\"0\" width=\"" + f1(width) + "\" height=\"" + f1(height) + "\" fill=\"white\"/>\n";
    s += "  <text class=\"title\" x=\"" + f1((left + right) / 2) +
         "\" y=\"28\" text-anchor=\"middle\" font-size=\"15\">" + xml_escape(title) + "</text>\n";

    // Grid and ticks.
    s += "  <g class=\"y-ticks\">\n";
    for (double y = 0; y <= y_max + 1e-9; y += y_step) {
        s += "    <line x1=\"" + f1(left) + "\" y1=\"" + f1(py(y)) + "\" x2=\"" + f1(right) + "\" y2=\"" + f1(py(y)) +
             "\" stroke=\"#e0e0e0\"/>\n";
        s += "    <line x1=\"" + f1(left - 5) + "\" y1=\"" + f1(py(y)) + "\" x2=\"" + f1(left) + "\" y2=\"" +
             f1(py(y)) + "\" stroke=\"black\"/>\n";
        s += "    <text x=\"" + f1(left - 8) + "\" y=\"" + f1(py(y) + 4) + "\" text-anchor=\"end\">" + tick_text(y) +
             "</text>\n";
    }
    s += "  </g>\n  <g class=\"x-ticks\">\n";
    for (double x = 0; x <= x_max + 1e-9; x += x_step) {
        s += "    <line x1=\"" + f1(px(x)) + "\" y1=\"" + f1(bottom) + "\" x2=\"" + f1(px(x)) + "\" y2=\"" +
             f1(bottom + 5) + "\" stroke=\"black\"/>\n";
        s += "    <text x=\"" + f1(px(x)) + "\" y=\"" + f1(bottom + 19) + "\" text-anchor=\"middle\">" + tick_text(x) +
             "</text>\n";
    }
    s += "  </g>\n";
    // Axes and their labels.
    s += "  <line class=\"axis\" x1=\"" + f1(left) + "\" y1=\"" + f1(bottom) + "\" x2=\"" + f1(right) + "\" y2=\"" +
         f1(bottom) + "\" stroke=\"black\"/>\n";
    s += "  <line class=\"axis\" x1=\"" + f1(left) + "\" y1=\"" + f1(top) + "\" x2=\"" + f1(left) + "\" y2=\"" +
         f1(bottom) + "\" stroke=\"black\"/>\n";
    s += "  <text class=\"axis-label\" x=\"" + f1((left + right) / 2) + "\" y=\"" + f1(height - 18) +
         "\" text-anchor=\"middle\">workers</text>\n";
    s += "  <text class=\"axis-label\" x=\"18\" y=\"" + f1((top + bottom) / 2) +
         "\" text-anchor=\"middle\" transform=\"rotate(-90 18 " + f1((top + bottom) / 2) +
         ")\">speedup vs serial</text>\n";

    // The ideal line: speedup = workers.
    s += "  <line class=\"ideal\" x1=\"" + f1(px(0)) + "\" y1=\"" + f1(py(0)) + "\" x2=\"" + f1(px(x_max)) +
         "\" y2=\"" + f1(py(x_max)) + "\" stroke=\"#777777\" stroke-width=\"1.5\" stroke-dasharray=\"6,4\"/>\n";

    // The series.
    for (size_t i = 0; i < series.size(); ++i) {
        const std::string color = kColors[i % (sizeof kColors / sizeof kColors[0])];
        std::string points;
        for (const auto &[w, sp] : series[i].second)
            points += (points.empty() ? "" : " ") + f1(px(w)) + "," + f1(py(std::max(0.0, sp)));
        s += "  <g class=\"series\" data-name=\"" + xml_escape(series[i].first) + "\">\n";
        s += "    <polyline points=\"" + points + "\" fill=\"none\" stroke=\"" + color + "\" stroke-width=\"2\"/>\n";
        for (const auto &[w, sp] : series[i].second)
            s += "    <circle cx=\"" + f1(px(w)) + "\" cy=\"" + f1(py(std::max(0.0, sp))) + "\" r=\"4\" fill=\"" +
                 color + "\"/>\n";
        s += "  </g>\n";
    }

    // The legend, right of the plot.
    const double lx = right + 20;
    double ly = top + 10;
    s += "  <g class=\"legend\">\n";
    for (size_t i = 0; i < series.size(); ++i, ly += 22) {
        const std::string color = kColors[i % (sizeof kColors / sizeof kColors[0])];
        s += "    <line x1=\"" + f1(lx) + "\" y1=\"" + f1(ly) + "\" x2=\"" + f1(lx + 24) + "\" y2=\"" + f1(ly) +
             "\" stroke=\"" + color + "\" stroke-width=\"2\"/>\n";
        s += "    <circle cx=\"" + f1(lx + 12) + "\" cy=\"" + f1(ly) + "\" r=\"4\" fill=\"" + color + "\"/>\n";
        s +=
            "    <text x=\"" + f1(lx + 32) + "\" y=\"" + f1(ly + 4) + "\">" + xml_escape(series[i].first) + "</text>\n";
    }
    s += "    <line x1=\"" + f1(lx) + "\" y1=\"" + f1(ly) + "\" x2=\"" + f1(lx + 24) + "\" y2=\"" + f1(ly) +
         "\" stroke=\"#777777\" stroke-width=\"1.5\" stroke-dasharray=\"6,4\"/>\n";
    s += "    <text x=\"" + f1(lx + 32) + "\" y=\"" + f1(ly + 4) + "\">ideal (speedup = workers)</text>\n";
    s += "  </g>\n</svg>\n";
    return s;
}

} // namespace batchproc
