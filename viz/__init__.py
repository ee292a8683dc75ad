"""What VGG16 sees and learns, as pure functions: numpy images and plain parameters in, numpy images
and numbers out.

  viz/engine/  the one optimization loop and its parts (parametrizations, objectives, transforms)
  viz/*.py     the analyses (activations, attribution, reconstruct, visualize, style, blocks,
               microscope) and what they stand on (model, images, targets, errors), plus the
               process's own settings (precision, runtime)
  viz/io/      everything that touches the disk or the network: weights, image files, the
               Microscope's picture cache, the patches of a folder of photos

Entry points (the app, benchmarks, tests) call `viz.runtime.configure_runtime()` once at start.
"""
