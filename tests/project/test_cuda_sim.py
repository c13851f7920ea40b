"""The CUDA simulation itself (tests/cuda_sim.py): it must raise where real CUDA raises, and only there.

Each known device bug of issue 15 is reproduced here in a few lines (bugs 1-3), so the simulation is
shown to catch its pattern; the real code paths are in tests/agents/tabular/test_torch_backend.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from cuda_sim import is_simulated, simulate_cuda

CUDA = torch.device("cuda")


@pytest.fixture
def sim():
    with simulate_cuda():
        yield


def test_cuda_is_available_only_inside_the_block() -> None:
    was_simulated = is_simulated()
    with simulate_cuda():
        assert torch.cuda.is_available() and torch.cuda.device_count() == 1 and torch.cuda.current_device() == 0
        assert "Simulated" in torch.cuda.get_device_name(0)
        x = torch.ones(2, device="cuda")
    assert is_simulated() == was_simulated
    if not was_simulated:
        assert torch.cuda.is_available() is False
        assert x.device.type == "cpu"  # outside, the tag is inert: a plain CPU tensor


def test_devices_compare_as_in_real_torch(sim) -> None:
    x = torch.zeros(3, device="cuda")
    assert x.device == torch.device("cuda:0") and x.device != CUDA  # real torch: cuda:0 != cuda
    assert x.is_cuda and x.get_device() == 0 and not x.is_cpu
    assert torch.zeros(2, device=CUDA).device.index == 0
    assert torch.zeros(2, device=0).is_cuda
    y = torch.arange(3.0)
    assert y.device.type == "cpu" and y.get_device() == -1
    for moved in (y.to("cuda"), y.cuda(), y.to(CUDA), y.to(x), torch.as_tensor(y, device="cuda")):
        assert moved.device == torch.device("cuda:0")
        assert moved is not y and y.device.type == "cpu"  # a move copies; the source stays put
    back = x.cpu()
    assert back.device.type == "cpu" and x.is_cuda and back is not x
    assert x.to("cuda") is x and x.to(torch.float64).is_cuda
    with pytest.raises(RuntimeError, match="invalid device ordinal"):
        torch.zeros(1, device="cuda:1")


def test_numpy_of_a_cuda_tensor_raises(sim) -> None:
    x = torch.arange(4, device="cuda")
    for convert in (lambda: x.numpy(), lambda: np.asarray(x), lambda: np.array(x, dtype=np.int64)):
        with pytest.raises(TypeError, match="can't convert cuda:0 device type tensor to numpy"):
            convert()
    np.testing.assert_array_equal(x.cpu().numpy(), [0, 1, 2, 3])
    assert x.tolist() == [0, 1, 2, 3] and int(x.sum()) == 6 and x[1].item() == 1  # host reads: allowed


def test_mixing_devices_raises_except_cpu_scalars(sim) -> None:
    x, y = torch.ones(3, device="cuda"), torch.ones(3)
    for op in (lambda: x + y, lambda: y * x, lambda: torch.cat([x, y]), lambda: torch.where(x > 0, x, y),
               lambda: x @ y):
        with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
            op()
    with pytest.raises(TypeError, match="can't convert cuda:0"):
        x + np.ones(3)  # numpy takes over and converts the cuda tensor
    assert (x + torch.tensor(2.0)).is_cuda and torch.where(x > 0, x, torch.tensor(0.0)).is_cuda
    assert (x * 2).is_cuda and torch.stack([x, x]).is_cuda and x.sum().is_cuda
    out = x.max(0)
    assert out.values.is_cuda and out.indices.is_cuda and all(t.is_cuda for t in x.split(1))
    assert all(t.is_cuda for t in x)
    x.copy_(y)  # copy_ moves data between devices
    assert x.is_cuda


def test_indexing_across_devices(sim) -> None:
    cpu, cuda = torch.arange(5.0), torch.arange(5.0, device="cuda")
    idx_cpu, idx_cuda = torch.tensor([1, 3]), torch.tensor([1, 3], device="cuda")
    with pytest.raises(RuntimeError, match="indices should be either on cpu or on the same device"):
        cpu[idx_cuda]
    with pytest.raises(RuntimeError, match="indices should be either on cpu or on the same device"):
        cpu[idx_cuda > 1]
    with pytest.raises(RuntimeError, match="indices should be either on cpu or on the same device"):
        cpu[idx_cuda] = 0.0
    assert cuda[idx_cpu].is_cuda and cuda[idx_cuda].is_cuda  # real torch takes CPU indices into a cuda tensor
    assert float(cpu[torch.tensor(2, device="cuda")]) == 2.0  # a 0-dim integer index is read as an int
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        cuda[idx_cpu] = torch.tensor([7.0, 8.0])  # index_put_ of non-scalar CPU values
    cuda[idx_cpu] = torch.tensor(7.0)
    cuda[:2] = torch.tensor([5.0, 6.0])  # basic slicing copies: allowed
    assert cuda.cpu().tolist() == [5.0, 6.0, 2.0, 7.0, 4.0]


def test_generators_must_be_on_the_op_device(sim) -> None:
    g_cuda, g_cpu = torch.Generator(device="cuda"), torch.Generator()
    assert g_cuda.device == torch.device("cuda:0") and g_cpu.device.type == "cpu"
    assert isinstance(g_cuda, torch.Generator) and isinstance(torch.default_generator, torch.Generator)
    with pytest.raises(RuntimeError, match="Expected a 'cpu' device type for generator but found 'cuda'"):
        torch.rand(3, generator=g_cuda)
    with pytest.raises(RuntimeError, match="Expected a 'cuda' device type for generator but found 'cpu'"):
        torch.randint(5, (3,), generator=g_cpu, device="cuda")
    with pytest.raises(RuntimeError, match="Expected a 'cuda' device type for generator but found 'cpu'"):
        torch.ones(3, device="cuda").uniform_(generator=g_cpu)
    g_cuda.manual_seed(3)
    g_cpu.manual_seed(3)
    drawn = torch.rand(4, generator=g_cuda, device="cuda")
    assert drawn.is_cuda and torch.equal(drawn.cpu(), torch.rand(4, generator=g_cpu))  # same numbers as the CPU


def test_modules_optimisers_and_autograd(sim) -> None:
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    ref = torch.nn.Linear(3, 2)
    ref.load_state_dict(model.state_dict())
    model.to("cuda")
    assert all(p.is_cuda for p in model.parameters()) and all(t.is_cuda for t in model.state_dict().values())
    assert all(not p.is_cuda for p in ref.parameters())
    x = torch.ones(4, 3)
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        model(x)
    opts = []
    for m, inp in ((model, x.cuda()), (ref, x)):
        opts.append(torch.optim.Adam(m.parameters(), lr=0.1))
        m(inp).square().sum().backward()
        opts[-1].step()
    assert model.weight.grad.is_cuda and all(s["exp_avg"].is_cuda for s in opts[0].state.values())
    assert not any(s["exp_avg"].is_cuda for s in opts[1].state.values())
    assert torch.equal(model.weight.detach().cpu(), ref.weight.detach())  # the same arithmetic as on the CPU
    assert torch.nn.Parameter(torch.zeros(2, device="cuda")).is_cuda
    with pytest.raises(RuntimeError, match="different device"):
        model.weight.grad = torch.zeros(2, 3)
    model.cpu()
    assert not model.weight.is_cuda and model(x).device.type == "cpu"


@pytest.mark.parametrize("args, kwargs", [(("cuda", torch.bfloat16), {}), ((), {"device": "cuda"}),
                                           ((), {"device": "cuda", "dtype": torch.bfloat16})])  # fmt: skip
def test_module_to_by_position_or_keyword(sim, args, kwargs) -> None:
    """``model.to(device="cuda", dtype=...)`` places the parameters as the positional form does."""
    model = torch.nn.Linear(2, 2).to(*args, **kwargs)
    assert model.weight.is_cuda and model.bias.device == torch.device("cuda", 0)
    assert model.weight.dtype == kwargs.get("dtype", args[1] if len(args) > 1 else torch.float32)
    model.to(device="cpu")
    assert not model.weight.is_cuda


def test_stand_ins_are_harmless(sim) -> None:
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    torch.cuda.empty_cache()
    torch.cuda.manual_seed_all(0)
    assert torch.cuda.memory_allocated() == 0 and torch.cuda.max_memory_allocated() == 0
    torch.zeros(1000, device="cuda")  # bytes placed since the reset: 4000 (an upper bound, never freed)
    assert torch.cuda.max_memory_allocated() == 4000 and torch.accelerator.max_memory_allocated() == 4000
    assert torch.cuda.get_rng_state().dtype == torch.uint8 and len(torch.cuda.random.get_rng_state_all()) == 1
    assert torch.accelerator.current_accelerator() == torch.device("cuda") and torch.accelerator.device_count() == 1
    assert not torch.accelerator.current_stream().is_capturing()
    with torch.cuda.device(0):
        assert torch.device(0) == torch.device("cuda:0") and torch.ones(2).to(0).is_cuda
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    end.record()
    end.synchronize()
    assert start.elapsed_time(end) >= 0.0
    assert torch.cuda.is_bf16_supported() and torch.cuda.get_device_capability() == (9, 0)


def test_torch_load_to_cuda(sim, tmp_path) -> None:
    torch.save({"w": torch.arange(3.0), "nested": [torch.ones(2)]}, tmp_path / "t.pt")
    for where in ("cuda", torch.device("cuda:0"), {"cpu": "cuda:0"}):
        loaded = torch.load(tmp_path / "t.pt", map_location=where, weights_only=True)
        assert loaded["w"].is_cuda and loaded["nested"][0].is_cuda and loaded["w"].cpu().tolist() == [0.0, 1.0, 2.0]
    assert not torch.load(tmp_path / "t.pt", weights_only=True)["w"].is_cuda


# ----- the known device bugs of issue 15, each as the few lines that carry its pattern -----


def test_bug1_pattern_numpy_of_device_start_states(sim) -> None:
    """envs/batched.py reset: ``np.asarray(options["start"])`` of states drawn on the device."""
    starts = torch.randint(25, (8,), device="cuda")
    with pytest.raises(TypeError, match="can't convert cuda:0"):
        np.asarray(starts, dtype=np.int64)


def test_bug2_pattern_cpu_input_ids_meet_cuda_logits(sim) -> None:
    """Grounding DINO rewards: a label map built from the processor's CPU input_ids meets CUDA probabilities."""
    input_ids = torch.tensor([[101, 2, 1012, 3, 102]])  # the processor's output: CPU
    probs = torch.rand(1, 900, 5, device="cuda")  # the model's output on the GPU
    label_map = torch.nn.functional.one_hot(input_ids[0] % 5, 5).float()
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        probs @ label_map


def test_bug3_pattern_cuda0_is_not_cuda(sim) -> None:
    """tests/agents/tabular/test_bandit_agents.py: ``agent.q.device == env.backend.device`` compares cuda:0
    with cuda."""
    q = torch.zeros(3, device=torch.device("cuda"))
    assert q.device != torch.device("cuda")
    assert q.device.type == torch.device("cuda").type  # what a device check should compare


# ----- host-device syncs, deterministic mode, bf16 -----


def test_host_reads_and_data_dependent_shapes_are_counted_as_syncs(sim) -> None:
    from cuda_sim import count_syncs

    x, mask, idx = torch.arange(4.0, device="cuda"), torch.tensor([True, False, True, False], device="cuda"), \
        torch.tensor([0, 2, 2], device="cuda")
    reads = [lambda: x[0].item(), lambda: bool(mask.any()), lambda: int(x[1]), lambda: float(x[1]), lambda: x.tolist(),
             lambda: x.cpu(), lambda: x.to("cpu"), lambda: x[mask], lambda: torch.nonzero(mask), lambda: mask.nonzero(),
             lambda: torch.bincount(idx, minlength=4), lambda: x.masked_select(mask), lambda: torch.unique(idx),
             lambda: x.repeat_interleave(idx[:1] + 1), lambda: torch.repeat_interleave(idx)]  # tensor repeats
    for read in reads:
        with count_syncs() as syncs:
            read()
        assert sum(syncs.values()) == 1, syncs
    with count_syncs() as syncs:
        if mask.any():  # an `if` on a cuda tensor reads it
            pass
        x[mask] = torch.tensor([7.0, 8.0], device="cuda")  # index_put_ with a mask: nonzero
    assert syncs == {"__bool__": 1, "boolean mask index": 1}
    with count_syncs() as syncs:  # the sync-free ways of the same work
        y = torch.where(mask, x, 0.0)
        x[mask] = 0.0  # a host scalar: masked_fill_
        z = torch.zeros(4, device="cuda").index_add_(0, idx, torch.ones(3, device="cuda"))
        (y + z).sum()
        cpu = torch.arange(3)
        bool(cpu.any()) and cpu.tolist()
        x[1] = torch.tensor(5.0)  # host values written into a cuda tensor: no wait for the GPU
        x.copy_(torch.arange(4.0))
        torch.zeros(4).copy_(x, non_blocking=True)  # an asynchronous copy to the host
        x.repeat_interleave(2)  # an int repeats: expanded to a size known on the host
        torch.repeat_interleave(x, repeats=3, dim=0)
        x[:3].repeat_interleave(idx, output_size=4)  # tensor repeats with their total given
    assert sum(syncs.values()) == 0, syncs
    host = torch.zeros(4)
    with count_syncs() as syncs:  # a cuda value written into a CPU tensor: the host waits for the copy
        host[0] = x[1]
        host.copy_(x)
    assert syncs == {"setitem into cpu": 1, "copy_ into cpu": 1}, syncs
    assert host.tolist() == x.cpu().tolist()


def test_deterministic_mode_raises_where_real_cuda_has_no_deterministic_kernel(sim) -> None:
    x, idx = torch.rand(5, device="cuda"), torch.tensor([0, 1, 1], device="cuda")
    x.cumsum(0), torch.bincount(idx, weights=x[:3])  # fine outside deterministic mode
    from rlsuite.common.seeding import deterministic_torch

    with deterministic_torch():
        for op, kernel in ((lambda: torch.cumsum(x, 0), "cumsum_cuda_kernel"), (lambda: x.cumsum(0), "cumsum"),
                           (lambda: torch.bincount(idx, weights=x[:3]), "_bincount_cuda")):
            with pytest.raises(RuntimeError, match=f"{kernel}.* does not have a deterministic implementation"):
                op()
        # these have deterministic kernels (integer scans; sorted accumulation) and CPU tensors never raise
        idx.cumsum(0), torch.bincount(idx), torch.zeros(2, device="cuda").index_add_(0, idx, x[:3])
        torch.rand(3).cumsum(0)
    with deterministic_torch(warn_only=True), pytest.warns(UserWarning, match="cumsum_cuda_kernel"):
        x.cumsum(0)


def test_bf16_may_be_emulated_only() -> None:
    with simulate_cuda():
        assert torch.cuda.is_bf16_supported(including_emulation=False)
        with simulate_cuda(native_bf16=False):  # a V100 or T4
            assert torch.cuda.is_bf16_supported() and not torch.cuda.is_bf16_supported(including_emulation=False)
        assert torch.cuda.is_bf16_supported(including_emulation=False)
