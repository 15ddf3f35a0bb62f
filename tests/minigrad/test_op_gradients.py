"""Every differentiable op's gradient against central finite differences (float64, smooth inputs).

Inputs are drawn by hypothesis (shapes incl. 0-d, size-1 dims and broadcasting) away from kinks and
ties, where finite differences are valid; the kink/tie semantics are tested in test_kinks.py."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as torch
from minigrad.ops import activation as F  # nn.functional re-exports these

EPS = 1e-6


def numeric_vjp(fn, arrays, cot):
    """Central-difference gradient of sum(fn(*arrays) * cot) w.r.t. each array."""
    grads = []
    for i, a in enumerate(arrays):
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            plus = [x.copy() for x in arrays]
            minus = [x.copy() for x in arrays]
            plus[i][idx] += EPS
            minus[i][idx] -= EPS
            fp = np.sum(fn(*[torch.tensor(x) for x in plus]).detach().numpy() * cot)
            fm = np.sum(fn(*[torch.tensor(x) for x in minus]).detach().numpy() * cot)
            g[idx] = (fp - fm) / (2 * EPS)
        grads.append(g)
    return grads


def check_vjp(fn, arrays, seed=0):
    leaves = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*leaves)
    cot = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(torch.tensor(cot))
    expected = numeric_vjp(fn, arrays, cot)
    for leaf, exp in zip(leaves, expected):
        assert leaf.grad.shape == leaf.shape and leaf.grad.dtype is torch.float64
        np.testing.assert_allclose(leaf.grad.numpy(), exp, rtol=1e-5, atol=1e-6)


def values(lo, hi, away_from=()):
    """Floats in [lo, hi], at least 1e-3 away from the given kink points. No subnormals: where a product
    underflows, torch's formulas (prod's result / input) give 0, and minigrad follows torch, not the calculus
    these finite differences check (torch 2.13: prod([0.5, 5e-324]) has gradient [0, 0])."""
    return st.floats(lo, hi, allow_subnormal=False).filter(lambda v: all(abs(v - k) > 1e-3 for k in away_from))


def arr(shape, lo=-2.0, hi=2.0, away_from=()):
    return hnp.arrays(np.float64, shape, elements=values(lo, hi, away_from))


shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)
pair_shapes = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)

UNARY = {
    "neg": (torch.neg, -3, 3, ()),
    "abs": (torch.abs, -3, 3, (0,)),
    "exp": (torch.exp, -3, 3, ()),
    "exp2": (torch.exp2, -3, 3, ()),
    "expm1": (torch.expm1, -3, 3, ()),
    "log": (torch.log, 0.1, 5, ()),
    "log2": (torch.log2, 0.1, 5, ()),
    "log10": (torch.log10, 0.1, 5, ()),
    "log1p": (torch.log1p, -0.9, 5, ()),
    "sqrt": (torch.sqrt, 0.1, 5, ()),
    "rsqrt": (torch.rsqrt, 0.1, 5, ()),
    "sin": (torch.sin, -3, 3, ()),
    "cos": (torch.cos, -3, 3, ()),
    "tan": (torch.tan, -1.2, 1.2, ()),
    "tanh": (torch.tanh, -3, 3, ()),
    "sigmoid": (torch.sigmoid, -5, 5, ()),
    "relu": (torch.relu, -3, 3, (0,)),
    "reciprocal": (torch.reciprocal, 0.2, 3, ()),
    "square": (torch.square, -3, 3, ()),
    "erf": (torch.erf, -3, 3, ()),
    "pow_scalar": (lambda x: x**2.5, 0.1, 3, ()),
    "rpow_scalar": (lambda x: 1.7**x, -2, 2, ()),
    "clamp": (lambda x: torch.clamp(x, -0.5, 0.7), -2, 2, (-0.5, 0.7)),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.1), -3, 3, (0,)),
    "elu": (lambda x: F.elu(x, 1.3), -3, 3, (0,)),
    "gelu": (F.gelu, -3, 3, ()),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), -3, 3, ()),
    "silu": (F.silu, -3, 3, ()),
    "softplus": (lambda x: F.softplus(x, beta=2.0, threshold=3.0), -3, 3, (1.5,)),
    "hardtanh": (F.hardtanh, -2, 2, (-1, 1)),
    "relu6": (F.relu6, -2, 8, (0, 6)),
    "sum": (lambda x: x.sum(), -3, 3, ()),
    "mean": (lambda x: x.mean(), -3, 3, ()),
    "prod": (lambda x: x.prod(), -2, 2, ()),
    "cumsum": (lambda x: x.cumsum(0) if x.ndim else x.cumsum(0), -3, 3, ()),
    "logsumexp": (lambda x: torch.logsumexp(x, dim=-1) if x.ndim else torch.logsumexp(x, ()), -3, 3, ()),
    "norm2": (lambda x: torch.linalg.vector_norm(x), 0.1, 3, ()),
    "norm3": (lambda x: torch.linalg.vector_norm(x, 3), 0.1, 3, ()),
    "softmax": (lambda x: torch.softmax(x, -1) if x.ndim else torch.softmax(x, 0), -3, 3, ()),
    "log_softmax": (lambda x: torch.log_softmax(x, -1) if x.ndim else torch.log_softmax(x, 0), -3, 3, ()),
    "reshape": (lambda x: x.reshape(-1) * torch.arange(x.numel(), dtype=torch.float64), -3, 3, ()),
    "T": (lambda x: x.T * torch.ones(x.T.shape, dtype=torch.float64), -3, 3, ()),
    "unsqueeze_flatten": (lambda x: x.unsqueeze(0).flatten(), -3, 3, ()),
    "getitem_repeat": (lambda x: x.reshape(-1)[torch.tensor([0, 0, -1])], -3, 3, ()),
    "mask": (lambda x: x[x > 0], -3, 3, (0,)),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(data=st.data())
def test_unary_gradient(name, data):
    fn, lo, hi, kinks = UNARY[name]
    shape = data.draw(shapes)
    check_vjp(fn, [data.draw(arr(shape, lo, hi, kinks))])


BINARY = {
    "add": (lambda a, b: a + b, (-3, 3), (-3, 3)),
    "sub": (lambda a, b: a - b, (-3, 3), (-3, 3)),
    "add_alpha": (lambda a, b: torch.add(a, b, alpha=2.5), (-3, 3), (-3, 3)),
    "mul": (lambda a, b: a * b, (-3, 3), (-3, 3)),
    "div": (lambda a, b: a / b, (-3, 3), (0.3, 3)),
    "pow": (lambda a, b: a**b, (0.2, 3), (-2, 2)),
    "maximum": (torch.maximum, (-3, 3), (-3, 3)),
    "minimum": (torch.minimum, (-3, 3), (-3, 3)),
    "where": (lambda a, b: torch.where(a > b, a, b * 2), (-3, 3), (-3, 3)),
    "clamp_tensor": (lambda a, b: torch.clamp(a, min=b), (-3, 3), (-3, 3)),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(data=st.data())
def test_binary_gradient_with_broadcasting(name, data):
    fn, (lo1, hi1), (lo2, hi2) = BINARY[name]
    shapes_ = data.draw(pair_shapes).input_shapes
    a = data.draw(arr(shapes_[0], lo1, hi1))
    b = data.draw(arr(shapes_[1], lo2, hi2))
    if name in ("maximum", "minimum", "where", "clamp_tensor"):  # stay away from ties
        a, b = np.broadcast_arrays(a, b)
        a, b = a.copy(), b.copy()
        b = np.where(np.abs(a - b) < 1e-3, a + 0.5, b)
    check_vjp(fn, [a, b])


REDUCE = {
    "sum_dim": lambda x, d: x.sum(d),
    "sum_keepdim": lambda x, d: x.sum(d, keepdim=True),
    "mean_dim": lambda x, d: x.mean(d),
    "var": lambda x, d: x.var(d),
    "var_biased": lambda x, d: x.var(d, unbiased=False),
    "std": lambda x, d: x.std(d),
    "prod_dim": lambda x, d: x.prod(d),
    "max_dim": lambda x, d: x.max(d).values,
    "min_dim_keep": lambda x, d: x.min(d, keepdim=True)[0],
    "amax": lambda x, d: x.amax(d),
    "amin": lambda x, d: x.amin((d,)),
    "max_all": lambda x, d: x.max(),
    "logsumexp": lambda x, d: x.logsumexp(d),
    "norm_inf": lambda x, d: torch.linalg.vector_norm(x, float("inf"), dim=d),
    "norm1": lambda x, d: torch.linalg.vector_norm(x, 1, dim=d),
    "cumsum": lambda x, d: x.cumsum(d),
    "softmax": lambda x, d: torch.softmax(x, d),
    "log_softmax": lambda x, d: torch.log_softmax(x, d),
    "transpose": lambda x, d: x.transpose(d, 0) * torch.arange(x.numel(), dtype=torch.float64).reshape(x.transpose(d, 0).shape),
    "split": lambda x, d: x.split(1, d)[-1],
    "chunk": lambda x, d: x.chunk(2, d)[0],
    "cat": lambda x, d: torch.cat([x, x * 2], d),
    "stack": lambda x, d: torch.stack([x, x.exp()], d),
    "index_select": lambda x, d: x.index_select(d, torch.tensor([0, 0])),
    "gather": lambda x, d: x.gather(d, torch.zeros(x.shape, dtype=torch.int64)),
    "flip": lambda x, d: x.flip([d]) * torch.arange(x.numel(), dtype=torch.float64).reshape(x.shape),
    "expand": lambda x, d: x.unsqueeze(0).expand(3, *x.shape),
    "repeat": lambda x, d: x.repeat(2, *([1] * x.ndim)),
}


@pytest.mark.parametrize("name", sorted(REDUCE))
@given(data=st.data())
def test_dim_op_gradient(name, data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3))
    d = data.draw(st.integers(-len(shape), len(shape) - 1))
    # distinct values: no ties for max/min/norm_inf, no zeros for norms
    n = int(np.prod(shape))
    vals = data.draw(st.permutations(list(range(n))))
    x = (np.array(vals, dtype=np.float64).reshape(shape) - n / 2 + 0.25) / max(n, 1)
    check_vjp(lambda t: REDUCE[name](t, d), [x])


@pytest.mark.parametrize(
    "sa,sb",
    [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
     ((2, 3), (4, 3, 2)), ((2, 1, 2, 3), (3, 3, 2)), ((1, 3), (3, 1))],
)
def test_matmul_gradient(sa, sb):
    rng = np.random.default_rng(0)
    check_vjp(torch.matmul, [rng.standard_normal(sa), rng.standard_normal(sb)])


@pytest.mark.parametrize(
    "fn,shapes_",
    [(torch.mm, [(2, 3), (3, 4)]), (torch.bmm, [(2, 2, 3), (2, 3, 4)]), (torch.mv, [(2, 3), (3,)]),
     (torch.dot, [(3,), (3,)]), (torch.outer, [(2,), (3,)]), (lambda a: a.t() * 2, [(2, 3)])],
)
def test_linalg_gradients(fn, shapes_):
    rng = np.random.default_rng(1)
    check_vjp(fn, [rng.standard_normal(s) for s in shapes_])


def test_basic_and_advanced_indexing_gradients():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 4, 2))
    for fn in [
        lambda t: t[1],
        lambda t: t[:, 1:3],
        lambda t: t[..., 0],
        lambda t: t[None, 0, ::2],
        lambda t: t[torch.tensor([2, 0, 2])],
        lambda t: t[torch.tensor([0, 1]), torch.tensor([3, 3])],
        lambda t: t[:, torch.tensor([[0, 1], [1, 1]])],
        lambda t: t[t.sum(-1) > 0],
    ]:
        check_vjp(fn, [x])
