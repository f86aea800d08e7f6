#include <batchproc/plugin.hpp>
namespace {
class SumOfSquares : public batchproc::Stage {
public:
    static constexpr const char *name = "sum_of_squares";
    static constexpr const char *doc = "placeholder";
    static constexpr uint32_t flags = 0;
    batchproc::IntParam n{this, "n", 1000000, "number of terms", {0, 1e12}};
    void process(batchproc::Job &) override {}
};
} // namespace
BATCHPROC_PLUGIN("sumsq", "1.0.0", "CPU benchmark stage.", SumOfSquares)
