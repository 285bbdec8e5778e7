"""The objectives against hand-computed numbers, naive re-implementations and the paper's theorems
(hypothesis property tests with autograd)."""

from __future__ import annotations

import math
from collections import defaultdict

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from polyalign_lf.objectives import (
    bucket_weights,
    check_weight,
    clip_weights,
    hdpo_loss,
    hdpo_losses,
    hdpo_regularizer,
    regularizer_active,
    sequence_log_probs,
    sigmoid_dpo_losses,
    step_coefficients,
    step_global_share,
    token_mean_losses,
    trainer_share,
    weighted_mean,
)


@pytest.fixture(autouse=True)
def _float64():
    """Exact comparisons in float64, restored afterwards (other test modules share this process)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


SETTINGS = settings(max_examples=60, deadline=None, derandomize=True)
finite = st.floats(min_value=-20, max_value=20, allow_nan=False)
positive = st.floats(min_value=0.01, max_value=10, allow_nan=False)


# ------------------------------------------------------------------ hand-computed values


def test_bucket_weights_hand_computed():
    # N = 4, |B| = 2: w_a = 4 / (2·3) = 2/3, w_b = 4 / (2·1) = 2
    assert bucket_weights(["a", "a", "a", "b"]) == pytest.approx({"a": 2 / 3, "b": 2.0})
    assert bucket_weights({"x": 1, "y": 3, "z": 6}) == pytest.approx({"x": 10 / 3, "y": 10 / 9, "z": 10 / 18})
    assert bucket_weights([]) == {}
    with pytest.raises(ValueError):
        bucket_weights({"x": 0})


def test_check_and_clip_weights():
    assert check_weight(1.5) is None and check_weight(0) is None
    assert "negative" in check_weight(-0.1)
    assert "not finite" in check_weight(float("inf")) and "not finite" in check_weight(float("nan"))
    assert "not a number" in check_weight("x")
    assert "not a number" in check_weight("1.5") and "not a number" in check_weight(True)  # never coerced
    assert clip_weights([0.1, 1.0, 9.0], 0.5, 2.0) == [0.5, 1.0, 2.0]
    assert clip_weights(torch.tensor([0.1, 9.0]), None, 2.0).tolist() == [0.1, 2.0]


def test_hdpo_loss_hand_computed():
    # one pair: Δπ = -1 - (-3) = 2, Δref = -2 - (-2.5) = 0.5, β = 0.5 → z = 0.75
    terms = hdpo_losses(
        torch.tensor([-1.0]),
        torch.tensor([-3.0]),
        torch.tensor([-2.0]),
        torch.tensor([-2.5]),
        torch.tensor([0.2]),
        torch.tensor([1.0]),
        beta=0.5,
        hdpo_lambda=0.3,
    )
    dpo = math.log(1 + math.exp(-0.75))
    p = 1 / (1 + math.exp(-1.0))
    reg = p * 0.2 + (1 - p) * 1.0
    assert terms["dpo"].item() == pytest.approx(dpo)
    assert terms["probability"].item() == pytest.approx(p)
    assert terms["regularizer"].item() == pytest.approx(reg)
    assert terms["loss"].item() == pytest.approx(dpo + 0.3 * reg)


def test_hdpo_loss_weighted_reduction_hand_computed():
    pc, pr = torch.tensor([-1.0, -2.0]), torch.tensor([-3.0, -1.0])
    rc, rr = torch.tensor([-2.0, -2.0]), torch.tensor([-2.0, -2.0])
    sc, sr = torch.tensor([0.0, 1.0]), torch.tensor([1.0, 0.0])
    per = hdpo_losses(pc, pr, rc, rr, sc, sr, beta=1.0, hdpo_lambda=0.5)["loss"]
    w = torch.tensor([1.0, 3.0])
    assert hdpo_loss(pc, pr, rc, rr, sc, sr, w, beta=1.0, hdpo_lambda=0.5).item() == pytest.approx(
        (per[0] + 3 * per[1]).item() / 4
    )


def test_token_mean_and_sequence_logps_match_naive_loops():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 6, 11, generator=gen)
    labels = torch.randint(0, 11, (3, 6), generator=gen)
    labels[0, :3] = -100
    labels[1, :] = -100  # no label token at all
    labels[2, 0] = -100
    losses, counts = token_mean_losses(logits, labels)
    sums, lengths = sequence_log_probs(logits, labels)
    for i in range(3):
        total, n = 0.0, 0
        for t in range(1, 6):
            if labels[i, t] != -100:
                row = logits[i, t - 1]
                total += (row[labels[i, t]] - torch.logsumexp(row, 0)).item()
                n += 1
        assert counts[i].item() == n and lengths[i].item() == n
        assert sums[i].item() == pytest.approx(total, abs=1e-9)
        assert losses[i].item() == pytest.approx(-total / n if n else 0.0, abs=1e-9)


def test_label_smoothing_matches_conservative_dpo():
    pm, rm = torch.tensor([1.0]), torch.tensor([0.2])
    z = 0.4 * 0.8
    expected = -(0.9 * math.log(1 / (1 + math.exp(-z))) + 0.1 * math.log(1 / (1 + math.exp(z))))
    assert sigmoid_dpo_losses(pm, rm, 0.4, label_smoothing=0.1).item() == pytest.approx(expected)


# ------------------------------------------------------------------ Theorem 1: Bucket-SFT = macro bucket risk


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from("abcde"), st.floats(0, 30, allow_nan=False)), min_size=1, max_size=40))
def test_theorem1_bucket_sft_is_exact_macro_bucket_risk(examples):
    buckets = [b for b, _ in examples]
    losses = torch.tensor([loss for _, loss in examples])
    table = bucket_weights(buckets)
    w = torch.tensor([table[b] for b in buckets])
    per_bucket = defaultdict(list)
    for b, loss in examples:
        per_bucket[b].append(loss)
    macro = sum(sum(v) / len(v) for v in per_bucket.values()) / len(per_bucket)
    assert weighted_mean(losses, w).item() == pytest.approx(macro, rel=1e-9, abs=1e-9)
    for b in per_bucket:  # Eq. 3: every bucket carries mass N/|B|
        assert sum(table[b] for x in buckets if x == b) == pytest.approx(len(buckets) / len(per_bucket))


# ------------------------------------------------------------------ Theorem 3: gradient signs via autograd


@SETTINGS
@given(finite, finite, positive, st.floats(0, 5, allow_nan=False), st.floats(0, 5, allow_nan=False))
def test_theorem3_regularizer_and_dpo_gradients(policy_margin, reference_margin, beta, s_plus, s_minus):
    dpi = torch.tensor(policy_margin, requires_grad=True)
    p = torch.sigmoid(beta * dpi)
    reg = hdpo_regularizer(p, torch.tensor(s_plus), torch.tensor(s_minus))
    (grad_r,) = torch.autograd.grad(reg, dpi)
    expected = beta * p.item() * (1 - p.item()) * (s_plus - s_minus)  # Eq. 11
    assert grad_r.item() == pytest.approx(expected, rel=1e-9, abs=1e-12)
    if s_minus - s_plus > 1e-6 and p.item() * (1 - p.item()) > 1e-12:
        assert grad_r.item() < 0  # minimizing R increases Δπ
    dpi2 = torch.tensor(policy_margin, requires_grad=True)
    dpo = sigmoid_dpo_losses(dpi2, torch.tensor(reference_margin), beta)
    (grad_l,) = torch.autograd.grad(dpo, dpi2)
    sig = 1 / (1 + math.exp(-beta * (policy_margin - reference_margin)))
    assert grad_l.item() == pytest.approx(-beta * (1 - sig), rel=1e-9, abs=1e-12)  # Eq. 12
    assert grad_l.item() <= 0
    if s_minus - s_plus > 1e-6 and 1 - sig > 1e-12 and p.item() * (1 - p.item()) > 1e-12:
        assert grad_l.item() < 0 and grad_r.item() < 0  # aligned: both push Δπ up


# ------------------------------------------------------------------ Theorem 5: gradient of the normalized objective


@SETTINGS
@given(st.lists(st.tuples(positive, finite, finite), min_size=1, max_size=12))
def test_theorem5_gradient_identity(rows):
    theta = torch.tensor([0.3, -0.7, 1.1], requires_grad=True)
    w = torch.tensor([r[0] for r in rows])
    feats = torch.tensor([[r[1], r[2], 1.0] for r in rows]) / 10

    def per_example(t):
        return torch.nn.functional.softplus(feats @ t) + 0.1 * (feats @ t) ** 2

    (grad,) = torch.autograd.grad(weighted_mean(per_example(theta), w), theta)
    expected = torch.zeros(3)
    for i in range(len(rows)):
        (g_i,) = torch.autograd.grad(per_example(theta)[i], theta)
        expected += w[i] * g_i
    expected /= w.sum()
    assert torch.allclose(grad, expected, rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------------ the step-global reduction the trainers use


@SETTINGS
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.data())
def test_step_global_share_reproduces_the_step_objective(batch, accumulation, world, data):
    """Simulate the HF Trainer on one optimizer step: every rank gets `accumulation` micro-batches of `batch`
    rows; each micro-batch loss is divided by the micro-batch count and summed; DDP averages the ranks.
    Logged loss and gradient must equal those of Σ w x / Σ w over the whole step."""
    n = batch * accumulation * world
    rows = data.draw(
        st.lists(
            st.tuples(st.floats(0, 5, allow_nan=False), st.floats(0, 10, allow_nan=False)), min_size=n, max_size=n
        )
    )
    w = torch.tensor([r[0] for r in rows])
    theta = torch.tensor(1.0, requires_grad=True)
    x = torch.tensor([r[1] for r in rows]) * theta + theta**2
    total_w = w.sum()
    logged, grad = 0.0, torch.zeros(())
    for rank in range(world):
        idx = list(range(rank, n, world))  # a distributed sampler's round-robin shard
        for k in range(accumulation):
            sel = torch.tensor(idx[k * batch : (k + 1) * batch], dtype=torch.long)
            loss = step_global_share(x[sel], w[sel], total_w, accumulation, world) / accumulation
            (g,) = torch.autograd.grad(loss, theta, retain_graph=True)
            grad = grad + g / world
            logged += loss.item() / world
    expected = weighted_mean(x, w)
    (g_exp,) = torch.autograd.grad(expected, theta, retain_graph=True)
    assert logged == pytest.approx(expected.item(), rel=1e-9, abs=1e-9)
    assert grad.item() == pytest.approx(g_exp.item(), rel=1e-9, abs=1e-9)
    if batch == 1 and n > 1 and len(set(w.tolist())) > 1 and len(set(x.tolist())) > 1:
        # the reference fork's per-micro-batch renormalization gives the unweighted mean here
        naive = sum(x[i].item() for i in range(n) if w[i] > 0) / max(1, int((w > 0).sum()))
        assert logged != pytest.approx(naive, rel=1e-6) or expected.item() == pytest.approx(naive, rel=1e-6)


def test_step_global_share_zero_weights_is_zero():
    assert step_global_share(torch.tensor([1.0, 2.0]), torch.zeros(2), 0.0, 2, 1).item() == 0.0
    assert weighted_mean(torch.tensor([1.0]), torch.zeros(1)).item() == 0.0


# ------------------------------------------------------------------ the unbiased step estimator (`dataset`)


def test_step_coefficients_hand_computed():
    w = torch.tensor([1.0, 3.0])
    # dataset: w / (m_step · w̄) with m_step = 4 examples in the step, w̄ = 2 over the training set
    assert step_coefficients(w, "dataset", step_count=4, mean_weight=2.0).tolist() == [1 / 8, 3 / 8]
    # step: w / Σ_step w with Σ_step w = 8 (this micro-batch and others)
    assert step_coefficients(w, "step", step_weight_sum=8.0).tolist() == [1 / 8, 3 / 8]
    # micro_batch: w / Σ_mb w, averaged over 2 micro-batches × 1 rank
    assert step_coefficients(w, "micro_batch", num_micro_batches=2).tolist() == [1 / 8, 3 / 8]
    assert step_coefficients(w, "dataset", step_count=4, mean_weight=0.0).tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="unknown weight normalization"):
        step_coefficients(w, "global")
    with pytest.raises(ValueError, match="needs step_count"):
        step_coefficients(w, "dataset")


@SETTINGS
@given(st.lists(st.integers(1, 30), min_size=2, max_size=6), st.integers(1, 9), st.integers(0, 10_000))
def test_dataset_normalization_gives_every_bucket_its_share_per_epoch(sizes, step_size, seed):
    """Theorem 1 at any batch composition: one shuffled epoch (without replacement, last step partial), masses
    m_step · c_i summed per bucket equal N/|B| exactly; the expectation of each step is the dataset mean."""
    buckets = [b for b, n in enumerate(sizes) for _ in range(n)]
    table = bucket_weights(buckets)
    weights = torch.tensor([table[b] for b in buckets])
    mean_weight = weights.mean().item()
    order = torch.randperm(len(buckets), generator=torch.Generator().manual_seed(seed)).tolist()
    mass = defaultdict(float)
    for start in range(0, len(order), step_size):
        step = order[start : start + step_size]
        c = step_coefficients(weights[step], "dataset", step_count=len(step), mean_weight=mean_weight)
        for i, ci in zip(step, c.tolist()):
            mass[buckets[i]] += len(step) * ci
    ideal = len(buckets) / len(sizes)
    for b in range(len(sizes)):
        assert mass[b] == pytest.approx(ideal, rel=1e-9)
    # E over a uniformly drawn step of Σ c_i x_i equals Σ w x / Σ w: check it exactly for steps of one example
    x = torch.arange(len(buckets), dtype=torch.float64)
    expectation = sum(
        (step_coefficients(weights[i : i + 1], "dataset", step_count=1, mean_weight=mean_weight) * x[i]).item()
        for i in range(len(buckets))
    ) / len(buckets)
    assert expectation == pytest.approx(weighted_mean(x, weights).item(), rel=1e-9)


@SETTINGS
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.data())
def test_trainer_share_reproduces_the_dataset_estimate(batch, accumulation, world, data):
    """The HF Trainer simulation of the step-global test, for `dataset`: logged loss and gradient equal
    Σ_step w x / (m_step · w̄) whatever the split into batch × accumulation × world."""
    n = batch * accumulation * world
    rows = data.draw(
        st.lists(
            st.tuples(st.floats(0, 5, allow_nan=False), st.floats(0, 10, allow_nan=False)), min_size=n, max_size=n
        )
    )
    mean_weight = data.draw(st.floats(0.1, 5))
    w = torch.tensor([r[0] for r in rows])
    theta = torch.tensor(1.0, requires_grad=True)
    x = torch.tensor([r[1] for r in rows]) * theta + theta**2
    logged, grad = 0.0, torch.zeros(())
    for rank in range(world):
        idx = list(range(rank, n, world))
        for k in range(accumulation):
            sel = torch.tensor(idx[k * batch : (k + 1) * batch], dtype=torch.long)
            c = step_coefficients(w[sel], "dataset", step_count=n, mean_weight=mean_weight)
            loss = trainer_share(x[sel], c, accumulation, world) / accumulation
            (g,) = torch.autograd.grad(loss, theta, retain_graph=True)
            grad = grad + g / world
            logged += loss.item() / world
    expected = (w * x).sum() / (n * mean_weight)
    (g_exp,) = torch.autograd.grad(expected, theta, retain_graph=True)
    assert logged == pytest.approx(expected.item(), rel=1e-9, abs=1e-9)
    assert grad.item() == pytest.approx(g_exp.item(), rel=1e-9, abs=1e-9)


def test_regularizer_active_threshold():
    p = torch.tensor([0.5, 1e-4, 1 - 1e-4, 0.002])
    assert regularizer_active(p).tolist() == [True, False, False, True]
    # the saturation the docs describe: Δπ = −130 at β = 0.1
    saturated = torch.sigmoid(torch.tensor(0.1 * -130.0))
    assert (saturated * (1 - saturated)).item() == pytest.approx(2.26e-6, rel=0.01)
    assert not regularizer_active(saturated).item()
