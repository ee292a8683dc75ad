"""The fast precision is chosen by the machine (both answers), can be forced, and is reported."""

import pytest

from viz import precision as P


@pytest.fixture
def machine(monkeypatch):
    """A machine of our choosing: CPU flags, no GPU, oneDNN on, no cap; the choice made afresh."""
    def make(flags=(), onednn=True, gpu=None, **env):
        monkeypatch.setattr(P, "cpu_flags", lambda: set(flags) | {"avx2", "fma"})
        monkeypatch.setattr(P, "onednn_enabled", lambda: onednn)
        monkeypatch.setattr(P, "gpu_capability", lambda: gpu)
        for name in ("VIZ_PRECISION", "ONEDNN_MAX_CPU_ISA"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        P.fast_precision.cache_clear()
        return P.fast_precision()

    yield make
    P.fast_precision.cache_clear()


def test_an_avx2_cpu_computes_in_float32(machine):
    chosen = machine(flags=["avx512f"])
    assert chosen.name == "float32" and not chosen.bfloat16
    assert "no native bfloat16" in chosen.reason


@pytest.mark.parametrize("flag", ["avx512_bf16", "amx_bf16"])
def test_a_cpu_with_native_bfloat16_uses_it(machine, flag):
    chosen = machine(flags=["avx512f", flag])
    assert chosen.bfloat16 and flag in chosen.reason


def test_without_onednn_bfloat16_is_not_chosen(machine):
    assert machine(flags=["avx512_bf16"], onednn=False).name == "float32"


@pytest.mark.parametrize("cap,name", [("AVX2", "float32"), ("avx512_core", "float32"),
                                      ("AVX512_CORE_BF16", "bfloat16"), ("AVX512_CORE_AMX", "bfloat16")])
def test_a_onednn_instruction_cap_is_respected(machine, cap, name):
    """ONEDNN_MAX_CPU_ISA=AVX2 is how an AVX-512 host runs oneDNN's AVX2 kernels (benchmarks/latency.py)."""
    assert machine(flags=["avx512_bf16"], ONEDNN_MAX_CPU_ISA=cap).name == name


@pytest.mark.parametrize("capability,name", [((7, 5), "float32"), ((8, 0), "bfloat16"), ((9, 0), "bfloat16")])
def test_a_gpu_uses_bfloat16_from_compute_capability_8(machine, capability, name):
    chosen = machine(gpu=("NVIDIA T4", capability))
    assert chosen.name == name and f"{capability[0]}.{capability[1]}" in chosen.reason


@pytest.mark.parametrize("forced", ["float32", "bfloat16"])
def test_viz_precision_overrides_the_machine(machine, forced):
    for flags in ([], ["avx512_bf16"]):
        chosen = machine(flags=flags, VIZ_PRECISION=forced)
        assert chosen.name == forced and "VIZ_PRECISION" in chosen.reason


def test_an_unknown_setting_falls_back_to_the_machine_and_says_so(machine):
    chosen = machine(flags=["avx512_bf16"], VIZ_PRECISION="<b>fp8</b>")
    assert chosen.bfloat16 and "is not one of" in chosen.reason


def test_the_network_follows_the_choice(machine, backbone):
    """`fast=True` asks for the fast precision: bfloat16 only where it was chosen."""
    import tensorflow as tf

    from viz.model import fast_dtype, network

    machine(flags=[])
    assert network(backbone, ["block1_conv1"], fast=True) is network(backbone, ["block1_conv1"])
    assert fast_dtype() == tf.float32
    machine(flags=["avx512_bf16"])
    assert network(backbone, ["block1_conv1"], fast=True) is not network(backbone, ["block1_conv1"])
    assert fast_dtype() == tf.bfloat16 and fast_dtype(False) == tf.float32
