// The plugin's entry point: the list of its stages, in the order `batchproc plugins` shows them.
#include "stages.hpp"

using namespace imgproc;

BATCHPROC_PLUGIN("imgproc", "1.0.0", "Image processing stages built on OpenCV.", Resize, Crop, Rotate, Flip, Pad,
                 Grayscale, Equalize, BrightnessContrast, Gamma, GaussianBlur, MedianBlur, Sharpen, Canny, Threshold,
                 Watermark, Save)
