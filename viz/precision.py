"""The fast precision of this process: bfloat16 where the hardware computes it natively, float32 elsewhere.

Analyses ask for "the fast precision" (`model.network(..., fast=True)`), never for bfloat16 by name.
bfloat16 makes an evaluation faster only where the hardware has it: CPUs with AVX-512 BF16 or AMX
(through TensorFlow's oneDNN kernels) and GPUs from compute capability 8.0. Elsewhere TensorFlow
emulates it, far slower than float32 (benchmarks/latency.py prints both). The choice is
made once per process from the CPU's flags, the GPU's compute capability and the settings that turn
oneDNN's kernels off or cap them: no timing at start, which on a shared 2-vCPU machine would be
noisy and would make the choice differ from one start to the next. `VIZ_PRECISION` overrides it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

ENV = "VIZ_PRECISION"
CHOICES = ("auto", "float32", "bfloat16")
NATIVE_CPU_FLAGS = ("avx512_bf16", "amx_bf16")
# oneDNN's instruction-set caps (ONEDNN_MAX_CPU_ISA) under which it has bfloat16 kernels.
BF16_ISA_WORDS = ("BF16", "AMX", "FP16", "AVX10", "ALL", "DEFAULT")
FIRST_BF16_GPU = (8, 0)  # compute capability: Ampere and later


@dataclass(frozen=True)
class Precision:
    """The dtype the fast paths compute in, and why (said in the page header and /model_info)."""

    name: str  # "float32" or "bfloat16"
    reason: str

    @property
    def bfloat16(self) -> bool:
        return self.name == "bfloat16"

    def describe(self) -> dict:
        return {"precision": self.name, "precision_reason": self.reason}


@lru_cache(maxsize=1)
def fast_precision() -> Precision:
    """This process's fast precision: $VIZ_PRECISION if it names one, else the machine's choice."""
    requested = os.environ.get(ENV, "auto").strip().lower() or "auto"
    if requested == "auto":
        return chosen_by_machine()
    if requested not in CHOICES:
        chosen = chosen_by_machine()
        return Precision(chosen.name, f"{ENV}={requested[:20]!r} is not one of {', '.join(CHOICES)}, so: "
                                      + chosen.reason)
    return Precision(requested, f"set by {ENV}={requested}")


def chosen_by_machine() -> Precision:
    """bfloat16 where the GPU or the CPU computes it natively, float32 elsewhere."""
    gpu = gpu_capability()
    if gpu is not None:
        name, capability = gpu
        native = capability >= FIRST_BF16_GPU
        return Precision("bfloat16" if native else "float32",
                         f"the GPU ({name}, compute capability {capability[0]}.{capability[1]}) "
                         + ("computes bfloat16 natively" if native else "has no native bfloat16 (from 8.0)"))
    if not onednn_enabled():
        return Precision("float32", "TensorFlow's oneDNN kernels are off (TF_ENABLE_ONEDNN_OPTS=0), so "
                                    "bfloat16 would be emulated")
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA", "").strip().upper()
    if cap and not any(word in cap for word in BF16_ISA_WORDS):
        return Precision("float32", f"oneDNN is capped at {cap[:20]} (ONEDNN_MAX_CPU_ISA), which has no bfloat16")
    native = [flag for flag in NATIVE_CPU_FLAGS if flag in cpu_flags()]
    if native:
        return Precision("bfloat16", f"the CPU computes bfloat16 natively ({', '.join(native)})")
    return Precision("float32", "the CPU has no native bfloat16 (no avx512_bf16 or amx_bf16), where it "
                                "would be emulated")


def cpu_flags() -> set[str]:
    """The CPU's feature flags as Linux lists them (empty elsewhere: then float32 is chosen)."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("flags"):
                    return set(line.partition(":")[2].split())
    except OSError:
        pass
    return set()


def onednn_enabled() -> bool:
    """Whether TensorFlow runs its oneDNN kernels (on by default on x86 Linux)."""
    try:
        from tensorflow.python.util import _pywrap_util_port

        return bool(_pywrap_util_port.IsMklEnabled())
    except (ImportError, AttributeError):
        return os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1").strip().lower() not in ("0", "false")


def gpu_capability() -> tuple[str, tuple[int, int]] | None:
    """The first GPU's name and compute capability, or None without a GPU."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return None
    details = tf.config.experimental.get_device_details(gpus[0])
    return details.get("device_name", "GPU"), tuple(details.get("compute_capability") or (0, 0))
