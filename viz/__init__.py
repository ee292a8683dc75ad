"""What VGG16 sees and learns, as pure functions: numpy images and plain parameters in and out."""

import numpy as np  # noqa: F401  (loaded first, so that its BLAS can be limited below)
from threadpoolctl import threadpool_limits

# TensorFlow owns the cores. OpenBLAS threads keep spinning after each of numpy's products, and on
# 2 cores that took a third of TensorFlow's time between L-BFGS steps (measured: 90 steps at 96 px,
# 7.7 s with BLAS threads, 5.2 s without); numpy's products here are small and need no threads.
threadpool_limits(1, user_api="blas")
