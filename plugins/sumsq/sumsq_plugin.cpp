// The CPU benchmark stage: total = sum(i*i for i in range(n)), exactly, by n real loop
// iterations. It reads no image, so it runs on generated jobs (input: {generate: {count: 8}})
// as well as on image jobs, whose image it leaves alone.
#include "sum_of_squares.hpp"

#include <batchproc/plugin.hpp>

#include <string>

namespace {

class SumOfSquares : public batchproc::Stage {
public:
    static constexpr const char *name = "sum_of_squares";
    static constexpr const char *doc =
        "CPU benchmark: sum(i*i for i in range(n)) by n loop iterations; metrics sum (exact, decimal) and n.";
    static constexpr uint32_t flags = 0; // needs no image

    batchproc::IntParam n{this, "n", 1'000'000, "number of terms (about 1 ns of CPU each)",
                          {0, double(batchproc::sumsq::max_n)}};

    void validate() override {
        // The host checks the schema's range already; this guards direct create() calls.
        if (n.value() < 0 || n.value() > batchproc::sumsq::max_n)
            throw batchproc::ParamError("n must be in [0, 10^12], got " + std::to_string(n.value()));
    }

    void process(batchproc::Job &job) override {
        const auto total = batchproc::sumsq::sum_of_squares_loop(uint64_t(n.value()));
        job.metric("sum", batchproc::sumsq::to_decimal(total));
        job.metric("n", n.value());
    }
};

} // namespace

BATCHPROC_PLUGIN("sumsq", "1.0.0", "CPU benchmark stage (sum of squares, exact 128-bit).", SumOfSquares)
