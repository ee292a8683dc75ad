"""What VGG16 sees and learns, as pure functions: numpy images and plain parameters in and out.

Entry points (the app, benchmarks, tests) call `viz.runtime.configure_runtime()` once at start.
"""
