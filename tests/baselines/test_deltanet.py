"""Gated DeltaNet (baselines/models/deltanet.py) and its methods: the chunked form equals the
recurrence, the fla kernel equals the plain form (GPU only), generation with the recurrent
state equals a full forward, padding leaves the state alone, and the compute it reports."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from baselines.compute import work_flops
from baselines.models.deltanet import (DeltaNetConfig, GatedDeltaNet, _fla, delta_rule_chunked, delta_rule_fla,
                                       delta_rule_recurrent, kernel_status)


def random_inputs(batch=2, length=45, heads=3, dk=8, dv=8, seed=0, device="cpu", with_state=True):
    g = torch.Generator().manual_seed(seed)
    q = F.normalize(torch.randn(batch, length, heads, dk, generator=g), dim=-1)
    k = F.normalize(torch.randn(batch, length, heads, dk, generator=g), dim=-1)
    v = torch.randn(batch, length, heads, dv, generator=g)
    decay = F.logsigmoid(torch.randn(batch, length, heads, generator=g) + 2)  # log alpha < 0
    beta = 2 * torch.rand(batch, length, heads, generator=g)  # (0, 2): negative eigenvalues
    state = torch.randn(batch, heads, dk, dv, generator=g) if with_state else None
    return [x.to(device) if x is not None else None for x in (q, k, v, decay, beta, state)]


@pytest.mark.parametrize("chunk_size", [1, 4, 16, 64])
def test_chunked_form_equals_the_recurrence(chunk_size):
    q, k, v, g, beta, state = random_inputs()
    want_o, want_state = delta_rule_recurrent(q, k, v, g, beta, 0.35, state)
    o, final = delta_rule_chunked(q, k, v, g, beta, 0.35, state, chunk_size)
    torch.testing.assert_close(o, want_o, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(final, want_state, atol=1e-5, rtol=1e-5)


def test_chunked_form_has_the_gradients_of_the_recurrence():
    inputs = random_inputs(length=20, seed=1)
    grads = []
    for form in ("recurrent", "chunked"):
        leaves = [x.clone().requires_grad_(True) for x in inputs]
        q, k, v, g, beta, state = leaves
        if form == "recurrent":
            o, final = delta_rule_recurrent(q, k, v, g, beta, 0.5, state)
        else:
            o, final = delta_rule_chunked(q, k, v, g, beta, 0.5, state, chunk_size=8)
        (o.square().sum() + final.sum()).backward()
        grads.append([x.grad for x in leaves])
    for want, got in zip(*grads):
        torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)


def test_zero_step_and_no_decay_leave_the_state():
    """beta = 0 and g = 0 (how padding is masked) keep the state exactly."""
    q, k, v, g, beta, state = random_inputs(length=7)
    _, final = delta_rule_chunked(q, k, v, torch.zeros_like(g), torch.zeros_like(beta), 1.0, state, 4)
    torch.testing.assert_close(final, state)


needs_fla = pytest.mark.skipif(not torch.cuda.is_available() or _fla()[0] is None,
                               reason="the fla kernel needs CUDA and flash-linear-attention")


@needs_fla
@pytest.mark.parametrize("chunk_size", [16, 32, 64])
def test_kernel_equals_the_plain_form(chunk_size):
    """fla's Triton kernel against the plain PyTorch form, fp32 inputs (tf32 inside the kernel)."""
    q, k, v, g, beta, state = random_inputs(batch=4, length=200, heads=4, dk=32, dv=32, device="cuda")
    want_o, want_state = delta_rule_chunked(q, k, v, g, beta, 32 ** -0.5, state, chunk_size)
    o, final = delta_rule_fla(q, k, v, g, beta, 32 ** -0.5, state, chunk_size)
    torch.testing.assert_close(o, want_o, atol=2e-2, rtol=2e-2)
    torch.testing.assert_close(final, want_state, atol=2e-2, rtol=2e-2)
    assert kernel_status("cuda").startswith("fla")


@needs_fla
def test_kernel_in_bf16_as_trained():
    """The kernel as training calls it (bf16 q, k, v, beta under autocast; no initial state)
    stays close to the fp32 plain form."""
    q, k, v, g, beta, _ = random_inputs(batch=8, length=90, heads=4, dk=32, dv=32, device="cuda", seed=2)
    want_o, want_state = delta_rule_chunked(q, k, v, g, beta, 32 ** -0.5, None, 64)
    bf16 = [x.bfloat16() for x in (q, k, v)]
    o, final = delta_rule_fla(*bf16, g, beta.bfloat16(), 32 ** -0.5, None, 64)
    assert o.dtype == torch.bfloat16
    torch.testing.assert_close(o.float(), want_o, atol=6e-2, rtol=6e-2)
    torch.testing.assert_close(final, want_state, atol=6e-2, rtol=6e-2)


@needs_fla
def test_kernel_gradients_equal_the_plain_form():
    inputs = random_inputs(batch=2, length=100, heads=2, dk=32, dv=32, device="cuda", seed=3)
    grads = []
    for fn in (delta_rule_chunked, delta_rule_fla):
        leaves = [x.clone().requires_grad_(True) for x in inputs]
        o, final = fn(*leaves[:5], 32 ** -0.5, leaves[5], 32)
        (o.square().sum() + final.sum()).backward()
        grads.append([x.grad for x in leaves])
    for want, got in zip(*grads):
        torch.testing.assert_close(got, want, atol=5e-2, rtol=5e-2)


def tiny_model(**overrides) -> GatedDeltaNet:
    torch.manual_seed(0)
    config = DeltaNetConfig(vocab_size=23, n_positions=64, n_layer=2, n_embd=32, n_head=2, head_dim=16,
                            chunk_size=8, kernel="torch", **overrides)
    model = GatedDeltaNet(config).eval()
    with torch.no_grad():  # larger weights than the init, so that the test is not trivially near zero
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return model


@pytest.mark.parametrize("gate", [True, False])
def test_generation_with_the_recurrent_state_equals_a_full_forward(gate):
    model = tiny_model(gate=gate)
    ids = torch.randint(0, 23, (3, 21), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        full, full_states = model(ids)
        h, states = model(ids[:, :9])  # prefill (chunked), then token by token with the state
        steps = [h]
        for t in range(9, 21):
            h, states = model(ids[:, t:t + 1], states=states, form="recurrent")
            steps.append(h)
    torch.testing.assert_close(model.logits(torch.cat(steps, 1)), model.logits(full), atol=1e-4, rtol=1e-4)
    for a, b in zip(states, full_states):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
        assert a.shape == (3, 2, 16, 16)  # [B, H, K, V]: the whole memory, whatever the length


def test_left_padding_leaves_the_state_as_alone():
    model = tiny_model()
    ids = torch.randint(1, 23, (1, 10), generator=torch.Generator().manual_seed(1))
    padded = torch.cat([torch.zeros(1, 5, dtype=torch.long), ids], dim=1)
    valid = torch.cat([torch.zeros(1, 5), torch.ones(1, 10)], dim=1).bool()
    with torch.no_grad():
        alone, alone_states = model(ids)
        h, states = model(padded, valid=valid)
    torch.testing.assert_close(h[:, 5:], alone, atol=1e-5, rtol=1e-5)
    for a, b in zip(states, alone_states):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_config_errors_and_reported_compute():
    with pytest.raises(ValueError, match="kernel='cuda'"):
        DeltaNetConfig(vocab_size=5, kernel="cuda")
    with pytest.raises(ValueError, match="head_dim=0"):
        DeltaNetConfig(vocab_size=5, head_dim=0)
    config = DeltaNetConfig(vocab_size=50, n_embd=64, n_head=4, head_dim=16)
    assert config.state_size == 4 * 16 * 16
    model = GatedDeltaNet(config)
    block = sum(p.numel() for n, p in model.blocks[0].named_parameters() if p.dim() == 2)
    assert block == config.block_matmul_params  # every weight matrix of a block is counted once
    with pytest.raises(ValueError, match="longer than n_positions"):
        model(torch.zeros(1, config.n_positions + 1, dtype=torch.long))
    assert kernel_status("cpu") == "torch (fla needs CUDA)"


def test_methods_report_recurrent_and_causal_work():
    from baselines.backbone import BackboneConfig, build_backbone
    from baselines.methods import get_method
    from baselines.tasks.base import Example
    from baselines.tokenizer import build_tokenizer

    examples = [Example("0 1 1 0", (), "even"), Example("1 1 1", (), "odd")]
    tok = build_tokenizer(f"{e.question}\n### {e.answer}" for e in examples)
    backbone = build_backbone(BackboneConfig("tiny", n_positions=64), len(tok), pad_id=tok.pad_token_id,
                              eos_id=tok.eos_token_id)
    for name, kind in (("gated_deltanet", "recurrent"), ("transformer", "causal")):
        cls = get_method(name)
        method = cls(cls.Config(n_embd=32, n_head=2, max_new_tokens=4), tok)
        model = method.build_model(backbone)
        gen = method.generate(model, examples)
        assert set(gen.work.pairs) == {kind}
        assert torch.equal(gen.work.layer_positions, 2 * gen.positions.double())  # 2 layers
        flops = work_flops(model.shape, gen.work)
        assert (flops > 0).all() and model.shape.n_embd == 32
        assert (model.shape.state_size > 0) == (kind == "recurrent")
    with pytest.raises(ValueError, match="n_layer=-1"):
        get_method("transformer")(get_method("transformer").Config(n_layer=-1), tok).build_model(backbone)


def test_auto_kernel_falls_back_when_the_fast_kernel_fails_its_backward(monkeypatch):
    """A kernel whose forward runs but whose backward refuses (as some fla releases do on some
    Triton versions) is found by the check before training, and the plain form is used."""
    import warnings

    from baselines.models import deltanet

    class ForwardOnly(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.clone()

        @staticmethod
        def backward(ctx, grad):
            raise RuntimeError("this kernel's backward is refused on this GPU")

    def fla_like(q, k, v, g, beta, scale, state=None, chunk_size=64):
        o, s = deltanet.delta_rule_chunked(q, k, v, g, beta, scale, state, chunk_size)
        return ForwardOnly.apply(o), s

    monkeypatch.setattr(deltanet, "delta_rule_fla", fla_like)
    monkeypatch.setattr(deltanet, "_FLA_FAILED", [])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert deltanet._fla_checked.__wrapped__(torch.device("cpu")) is False
    assert "backward is refused" in deltanet._FLA_FAILED[-1]
    monkeypatch.setattr(deltanet, "_FLA_FAILED", [])
    monkeypatch.setattr(deltanet, "delta_rule_fla", lambda q, k, v, g, beta, scale, state=None, chunk_size=64:
                        deltanet.delta_rule_chunked(q, k, v, g, beta, scale, state, chunk_size))
    assert deltanet._fla_checked.__wrapped__(torch.device("cpu")) is True  # a kernel that agrees passes
