"""How near the machine's peak each optimizing tab works: GFLOP per evaluation, and GFLOP/s.

For each tab's default run (in process, offline weights), the objective, image parametrization,
network and transforms of its full-size stage are taken from the run itself (the `optimize` call is
recorded), then one compiled evaluation (loss and gradient) is timed and its FLOPs counted by
TensorFlow's profiler on the graph cut to what that gradient needs. The reference, measured in the
same run: a large matmul in float32 and in bfloat16, the fastest work this machine does, so each
figure prints as a share of it. Also the whole step as the run takes it (optimizer and Python
included): seconds per step of the full-size stage.

Run: python benchmarks/flops.py
"""

import sys
import time
from dataclasses import replace
from functools import partial
from pathlib import Path

import tensorflow as tf

from latency import BLOCK4_CHANNELS

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from viz import reconstruct, style, visualize  # noqa: E402
from viz.io import imagefiles  # noqa: E402
from viz.io.weights import load_backbone  # noqa: E402
from viz.precision import fast_precision  # noqa: E402
from viz.engine.optimize import compiled, kind_of, step_seed  # noqa: E402
from viz.runtime import configure_runtime  # noqa: E402

configure_runtime()

ROOT = Path(__file__).resolve().parent.parent


def matmul_peak(dtype, n: int = 2048, repeats: int = 10) -> float:
    """GFLOP/s of an n×n matmul in `dtype`: the reference, what this machine does at its fastest."""
    a = tf.random.normal((n, n), dtype=tf.float32)
    a = tf.cast(a, dtype)
    product = tf.function(lambda x: tf.matmul(x, x))
    product(a).numpy()
    start = time.perf_counter()
    for _ in range(repeats):
        product(a).numpy()
    return 2 * n ** 3 * repeats / (time.perf_counter() - start) / 1e9


class Recorder:
    """Stands in for `optimize` in a viz module: records each call's arguments, then runs it."""

    def __init__(self, module):
        self.module, self.real, self.calls = module, module.optimize, []

    def __enter__(self):
        self.module.optimize = self
        return self

    def __exit__(self, *exc):
        self.module.optimize = self.real

    def __call__(self, objective, param, net, **kwargs):
        self.calls.append((objective, param, net, kwargs))
        return self.real(objective, param, net, **kwargs)


def last_stage(module, run, full_side: int):
    """Run `run` (a viz generator) with `module.optimize` recorded until its full-size stage has
    taken its steps; that stage's (objective, param, net, kwargs) and its seconds per step."""
    with Recorder(module) as recorder:
        begin, begun_at = None, None
        for snapshot in run:
            if begin is None and max(snapshot.images[0].shape[:2]) == full_side:
                begin, begun_at = snapshot.step, time.perf_counter()
        steps = snapshot.step - begin
        per_step = (time.perf_counter() - begun_at) / steps if steps else float("nan")
    return recorder.calls[-1], per_step


def evaluation(objective, param, net, kwargs):
    """The compiled loss-and-gradient evaluation the loop runs, bound to the run's inputs (its start
    values, its objective's data, a seed): call it without arguments."""
    kind = kind_of(objective, param, net, kwargs.get("transform"))
    inputs = [tf.constant(v) for v in param[0]], tf.nest.map_structure(tf.constant, objective.feed()), step_seed(0, 0)
    return partial(compiled(kind, "lbfgs"), *inputs)  # L-BFGS compiles the evaluation alone


def seconds_per_call(fn, repeats: int = 5) -> float:
    fn()  # trace and compile
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def flops(objective, param, net, kwargs) -> float:
    """FLOPs of one evaluation, from TensorFlow's profiler on its graph with the variables frozen
    (so every shape is known) and cut to what the loss and its gradient need."""
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2
    from tensorflow.python.profiler import model_analyzer, option_builder

    evaluate = evaluation(objective, param, net, kwargs)
    frozen = convert_variables_to_constants_v2(evaluate.func.get_concrete_function(*evaluate.args))
    wanted = [t.op.name for t in frozen.outputs]
    needed = tf.compat.v1.graph_util.extract_sub_graph(frozen.graph.as_graph_def(), wanted)
    with tf.Graph().as_default() as graph:
        tf.import_graph_def(needed, name="")
        options = option_builder.ProfileOptionBuilder(option_builder.ProfileOptionBuilder.float_operation())
        return model_analyzer.profile(graph, options=options.with_empty_output().build()).total_float_ops


def cases(backbone):
    """(label, module, viz generator with the tab's defaults, full-size long side)."""
    photo = imagefiles.load_image(str(ROOT / "examples" / "astronaut.jpg"))
    style_image = imagefiles.load_image(str(ROOT / "examples" / "styles" / "swirls.jpg"))
    run = visualize.default_run(backbone)
    return [
        ("reconstruct (default), L-BFGS", reconstruct,
         lambda: reconstruct.reconstruct(backbone, photo, replace(reconstruct.DEFAULT_RUN, steps=30)),
         reconstruct.DEFAULT_RUN.size),
        ("visualize the default targets, Adam", visualize,
         lambda: visualize.visualize(backbone, replace(run, every=1)), run.size),
        ("visualize 8 channels of block4_conv3, Adam", visualize,
         lambda: visualize.visualize(backbone, replace(run, targets=BLOCK4_CHANNELS, every=1)), run.size),
        ("style transfer (default), L-BFGS", style,
         lambda: style.style_transfer(backbone, photo, style_image, replace(style.DEFAULT_RUN, every=1)),
         style.DEFAULT_RUN.size),
    ]


def main():
    backbone = load_backbone("hed")
    print(f"precision: {fast_precision().name}, because {fast_precision().reason}")
    peak32, peak16 = matmul_peak(tf.float32), matmul_peak(tf.bfloat16)
    print(f"reference: a 2048² matmul, float32 {peak32:.0f} GFLOP/s, bfloat16 {peak16:.0f} GFLOP/s")
    print(f"{'default run':46} {'GFLOP/eval':>10} {'s/eval':>7} {'GFLOP/s':>8} {'of fp32 / bf16 peak':>20} "
          f"{'s/step in the run':>18}")
    for label, module, run, side in cases(backbone):
        (objective, param, net, kwargs), per_step = last_stage(module, run(), side)
        evaluate = evaluation(objective, param, net, kwargs)
        seconds = seconds_per_call(evaluate)
        giga = flops(objective, param, net, kwargs) / 1e9
        rate = giga / seconds
        print(f"{label:46} {giga:10.1f} {seconds:7.3f} {rate:8.0f} {rate / peak32:9.0%} / {rate / peak16:4.0%}"
              f" {per_step:18.3f}", flush=True)


if __name__ == "__main__":
    main()
