"""Bad input gets torch's exception class and a message naming the op, shapes and dtypes."""

import numpy as np
import pytest

import minigrad as torch


def test_matmul_shape_mismatch():
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 2x3\)"):
        torch.ones(2, 3) @ torch.ones(2, 3)


def test_broadcast_mismatch_names_shapes():
    with pytest.raises(RuntimeError, match=r"The size of tensor a \(3\) must match the size of tensor b \(4\) at non-singleton dimension 1 \(add of shapes \[2, 3\] and \[4\]\)"):
        torch.ones(2, 3) + torch.ones(4)


def test_dim_out_of_range():
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"):
        torch.ones(2, 3).sum(2)


def test_index_out_of_bounds():
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 0 with size 3"):
        torch.ones(3)[5]


def test_reshape_invalid():
    with pytest.raises(RuntimeError, match=r"shape '\[4\]' is invalid for input of size 6"):
        torch.ones(2, 3).reshape(4)


def test_float_index_rejected():
    with pytest.raises(IndexError, match="tensors used as indices must be long, int, byte or bool tensors"):
        torch.ones(3)[torch.tensor([0.0])]


def test_cat_size_mismatch():
    with pytest.raises(RuntimeError, match="Sizes of tensors must match except in dimension 0"):
        torch.cat([torch.ones(2, 3), torch.ones(2, 4)])


def test_mean_of_integers():
    with pytest.raises(RuntimeError, match="mean\\(\\): could not infer output dtype"):
        torch.tensor([1, 2]).mean()


def test_item_of_many():
    with pytest.raises(RuntimeError, match="a Tensor with 2 elements cannot be converted to Scalar"):
        torch.ones(2).item()


def test_numpy_of_grad_tensor():
    with pytest.raises(RuntimeError, match=r"Can't call numpy\(\) on Tensor that requires grad"):
        torch.ones(2, requires_grad=True).numpy()


# ---- error parity with torch 2.13 (conformance/suite/test_errors.py draws these; torch's messages written in) ----
def test_batched_matmul_broadcast_mismatch():
    # torch: "The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 0"
    with pytest.raises(RuntimeError, match=r"^The size of tensor a \(2\) must match the size of tensor b \(3\) at "
                                           r"non-singleton dimension 0( \(.*\))?$"):
        torch.matmul(torch.ones(2, 2, 3), torch.ones(3, 4, 5))


def test_batched_matmul_inner_mismatch():
    # torch: "Expected size for first two dimensions of batch2 tensor to be: [6, 3] but got: [6, 4]."
    with pytest.raises(RuntimeError, match=r"^Expected size for first two dimensions of batch2 tensor to be: "
                                           r"\[6, 3\] but got: \[6, 4\]\.$"):
        torch.matmul(torch.ones(2, 3, 2, 3), torch.ones(2, 3, 4, 5))


def test_folded_matmul_mismatch():
    # torch folds the batch of a 3-D input into rows: "mat1 and mat2 shapes cannot be multiplied (8x5 and 4x2)"
    with pytest.raises(RuntimeError, match=r"^mat1 and mat2 shapes cannot be multiplied \(8x5 and 4x2\)$"):
        torch.matmul(torch.ones(2, 4, 5), torch.ones(4, 2))
    # torch: "size mismatch, got input (8), mat (8x5), vec (4) "
    with pytest.raises(RuntimeError, match=r"^size mismatch, got input \(8\), mat \(8x5\), vec \(4\)$"):
        torch.matmul(torch.ones(2, 4, 5), torch.ones(4))


def test_probability_target_of_wrong_shape():
    # torch checks the target's shape before its dtype
    with pytest.raises(RuntimeError, match=r"^0D or 1D target tensor expected, multi-target not supported$"):
        torch.nn.functional.cross_entropy(torch.ones(3, 4), torch.ones(3, 5) / 5)
    with pytest.raises(ValueError, match=r"^Expected input batch_size \(3\) to match target batch_size \(2\)\.$"):
        torch.nn.functional.cross_entropy(torch.ones(3, 4), torch.ones(2, 4) / 4)


def test_requires_grad_on_int_tensor_three_wordings():
    with pytest.raises(RuntimeError, match=r"^Only Tensors of floating point and complex dtype can require gradients$"):
        torch.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"^Only Tensors of floating point and complex dtype can require gradients$"):
        torch.zeros(3, dtype=torch.int64, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"^only Tensors of floating point dtype can require gradients$"):
        torch.tensor([1, 2]).requires_grad_()
    t = torch.tensor([True])
    with pytest.raises(RuntimeError, match=r"^only Tensors of floating point and complex dtype can require gradients$"):
        t.requires_grad = True


def test_inplace_on_a_leaf_and_on_a_view_of_a_leaf():
    x = torch.ones(3, requires_grad=True)
    # torch: "a leaf Variable that requires grad is being used in an in-place operation." (minigrad names the op)
    with pytest.raises(RuntimeError, match=r"^add_: a leaf Variable that requires grad is being used in an in-place "
                                           r"operation\.$"):
        x.add_(1.0)
    for view in (lambda: x[0:2], lambda: x.view(3), lambda: x[...]):
        with pytest.raises(RuntimeError, match=r"^\w+: a view of a leaf Variable that requires grad is being used in "
                                               r"an in-place operation\.$"):
            view().mul_(2.0)
    with pytest.raises(RuntimeError, match=r"a view of a leaf Variable that requires grad"):
        x[0:2].zero_()


def test_cuda_is_not_compiled_in():
    # torch without CUDA: AssertionError "Torch not compiled with CUDA enabled"
    for call in (lambda: torch.ones(2).to("cuda"), lambda: torch.ones(2).to("cuda:0"),
                 lambda: torch.ones(2).to(device="cuda"), lambda: torch.ones(2, device="cuda"),
                 lambda: torch.tensor([1.0], device=torch.device("cuda")), lambda: torch.nn.Linear(2, 2).to("cuda"),
                 lambda: torch.nn.Linear(2, 2, device="cuda")):
        with pytest.raises(AssertionError, match=r"^minigrad not compiled with CUDA enabled$"):
            call()
    assert torch.ones(2, device="cpu").to("cpu").shape == (2,)


def test_assigning_grad_is_checked():
    x = torch.ones(3, requires_grad=True)
    with pytest.raises(TypeError, match=r"^assigned grad expected to be a Tensor or None but got grad of type float$"):
        x.grad = 0.0
    with pytest.raises(TypeError, match=r"^assigned grad expected to be a Tensor or None but got grad of type "
                                        r"numpy\.ndarray$"):
        x.grad = np.zeros(3)
    with pytest.raises(RuntimeError, match=r"^attempting to assign a gradient of size '\[4\]' to a tensor of size "
                                           r"'\[3\]'\. Please ensure that the gradient and the tensor are the same size$"):
        x.grad = torch.ones(4)
    with pytest.raises(RuntimeError, match=r"^attempting to assign a gradient with dtype 'double' to a tensor with "
                                           r"grad_dtype 'Float'\. The gradient must match"):
        x.grad = torch.ones(3, dtype=torch.float64)
    with pytest.raises(RuntimeError, match=r"with dtype 'long int' to a tensor with grad_dtype 'Float'"):
        x.grad = torch.ones(3, dtype=torch.int64)
    x.grad = torch.zeros(3)
    x.grad = None
    assert x.grad is None
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0, 2.0]


def test_negative_dimension():
    with pytest.raises(RuntimeError, match=r"^Trying to create tensor with negative dimension -1: \[2, -1\]$"):
        torch.nn.Linear(-1, 2)


def test_messages_found_by_the_error_parity_suite():
    # each torch 2.13 message is written in; minigrad may add an op prefix or a parenthesised suffix
    cases = [
        (lambda: torch.amax(torch.ones(2, 0, 3), dim=(0, 1)), IndexError,
         r"^amax\(\): Expected reduction dim 1 to have non-zero size\.$"),
        (lambda: torch.amax(torch.ones(2, 0)), RuntimeError,
         r"^amax\(\): Expected reduction dim to be specified for input\.numel\(\) == 0\. "
         r"Specify the reduction dim with the 'dim' argument\.$"),
        (lambda: torch.ones(2, 3).sum((1, -1)), RuntimeError, r"dim 1 appears multiple times in the list of dims$"),
        (lambda: torch.flip(torch.ones(2, 3), (1, -1)), RuntimeError,
         r"dim 1 appears multiple times in the list of dims$"),
        (lambda: torch.dot(torch.ones(2), torch.ones(2, dtype=torch.float64)), RuntimeError,
         r"^dot : expected both vectors to have same dtype, but found Float and Double$"),
        (lambda: torch.mm(torch.ones(2, 2), torch.ones(2, 2, dtype=torch.float64)), RuntimeError,
         r"expected m1 and m2 to have the same dtype, but got: float != double$"),
        (lambda: torch.gather(torch.ones(3), 0, torch.tensor([0.0])), RuntimeError,
         r"^gather\(\): Expected dtype int32/int64 for index( \(.*\))?$"),
        (lambda: torch.index_select(torch.ones(3), 0, torch.tensor([0.0])), RuntimeError,
         r"^index_select\(\): Expected dtype int32 or int64 for index( \(.*\))?$"),
        (lambda: torch.index_select(torch.ones(3), 0, torch.tensor([5])), IndexError,
         r"^(index_select\(\): )?index out of range in self( \(.*\))?$"),
        (lambda: torch.gather(torch.ones(2, 2), 0, torch.zeros(3, 4, dtype=torch.int64)), RuntimeError,
         r"^Size does not match at dimension 1 expected index \[3, 4\] to be no larger than self \[2, 2\] apart from "
         r"dimension 0$"),
        (lambda: torch.masked_fill(torch.ones(2), torch.ones(2), 0.0), RuntimeError,
         r"^masked_fill_ only supports boolean masks, but got mask with dtype float$"),
        (lambda: torch.empty(2).uniform_(1.5, 0.25), RuntimeError,
         r"^uniform_ expects to return a \[from, to\) range, but found from=1\.5 > to=0\.25$"),
        (lambda: torch.empty(2).normal_(0.0, -1.0), RuntimeError, r"^normal expects std >= 0\.0, but found std -1$"),
        # torch samples a narrow interval from U(a, b); minigrad used to loop forever on b < a
        (lambda: torch.nn.init.trunc_normal_(torch.empty(2, 3), a=2.0, b=-2.0), RuntimeError,
         r"^uniform_ expects to return a \[from, to\) range, but found from=2 > to=-2$"),
    ]
    for call, cls, pattern in cases:
        with pytest.raises(cls, match=pattern):
            call()


def test_scheduler_resume_without_initial_lr():
    opt = torch.optim.SGD([torch.ones(2, requires_grad=True)], lr=0.1)
    with pytest.raises(KeyError, match=r"param 'initial_lr' is not specified in param_groups\[0\] when resuming "
                                       r"scheduler with last_epoch >= 0\.\\nThis typically happens when:"):
        torch.optim.lr_scheduler.StepLR(opt, step_size=1, last_epoch=3)


def test_autograd_messages_name_the_element():
    x = torch.ones(3, requires_grad=True)
    w = torch.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"^The differentiated Tensor at index 0 appears to not have been used in "
                                           r"the graph\. Set allow_unused=True if this is the desired behavior\.$"):
        torch.autograd.grad((x * 2).sum(), [w, x])
    # torch: "Mismatch in shape: grad_output[0] has a shape of torch.Size([5]) and output[0] has a shape of
    # torch.Size([3])."
    with pytest.raises(RuntimeError, match=r"^Mismatch in shape: grad_output\[0\] has a shape of "
                                           r"minigrad\.Size\(\[5\]\) and output\[0\] has a shape of "
                                           r"minigrad\.Size\(\[3\]\)\.$"):
        (x * 2).backward(torch.ones(5))


F = torch.nn.functional
_B, _L, _F32, _F64 = torch.bool, torch.int64, torch.float32, torch.float64
_MASK = r"If you are trying to invert a mask, use the `~` or `logical_not\(\)` operator instead\."


def _bools() -> "torch.Tensor":
    return torch.tensor([True, False])


def _ints() -> "torch.Tensor":
    return torch.tensor([1, 2])


def _pow_bool_exponent_backward() -> None:
    x = torch.tensor([2.0, 3.0], requires_grad=True)
    torch.pow(x, _bools()).sum().backward()


def _huber_backward(input_dtype: "torch.dtype", target_dtype: "torch.dtype", input_grad: bool) -> None:
    x = torch.tensor([-0.75], dtype=input_dtype, requires_grad=input_grad)
    y = torch.tensor([0.75], dtype=target_dtype, requires_grad=not input_grad)
    F.huber_loss(x, y, delta=0.5).backward()


def _addcdiv_integer_divisor_backward() -> None:
    t1 = torch.ones(2, dtype=torch.float64, requires_grad=True)
    torch.ones(2, dtype=torch.float64).addcdiv_(t1, torch.tensor([2, 2])).sum().backward()


# (call, torch 2.13's exception class, its message; minigrad may add an op prefix / parenthesised suffix)
DTYPE_ERRORS = [
    (lambda: _bools() - _bools(), RuntimeError,
     r"Subtraction, the `-` operator, with two bool tensors is not supported\. Use the `\^` or `logical_xor\(\)` "
     r"operator instead\.$"),
    (lambda: _bools() - torch.ones(2), RuntimeError,
     r"Subtraction, the `-` operator, with a bool tensor is not supported\. " + _MASK + "$"),
    (lambda: 1 - _bools(), RuntimeError, r"with a bool tensor is not supported\. " + _MASK + "$"),
    (_pow_bool_exponent_backward, RuntimeError, r"with a bool tensor is not supported\. " + _MASK + "$"),
    (lambda: -_bools(), RuntimeError,
     r"Negation, the `-` operator, on a bool tensor is not supported\. " + _MASK + "$"),
    (lambda: +_bools(), RuntimeError, r"The `\+` operator, on a bool tensor is not supported\.$"),
    (lambda: _bools().abs(), NotImplementedError, r"\"abs_cpu\" not implemented for 'Bool'$"),
    (lambda: _bools().floor(), NotImplementedError, r"\"floor_vml_cpu\" not implemented for 'Bool'$"),
    (lambda: _bools().ceil(), NotImplementedError, r"\"ceil_vml_cpu\" not implemented for 'Bool'$"),
    (lambda: _bools().round(), NotImplementedError, r"\"round_vml_cpu\" not implemented for 'Bool'$"),
    (lambda: _bools().round(decimals=1), NotImplementedError, r"\"round_cpu\" not implemented for 'Bool'$"),
    (lambda: torch.relu(_bools()), RuntimeError, r"Boolean inputs not supported for relu$"),
    (lambda: F.hardtanh(_bools()), RuntimeError, r"Bool inputs not supported for hardtanh$"),
    (lambda: torch.argmax(_bools()), RuntimeError, r"argmax\(\): does not support bool input$"),
    (lambda: torch.argmin(torch.ones(0, dtype=_L)), IndexError,
     r"argmin\(\): Expected reduction dim to be specified for input\.numel\(\) == 0\.$"),
    (lambda: _ints().pow(-1), RuntimeError, r"Integers to negative integer powers are not allowed\.$"),
    (lambda: torch.where(torch.ones(2), torch.ones(2), torch.ones(2)), RuntimeError,
     r"where expected condition to be a boolean tensor, but got a tensor with dtype Float$"),
    (lambda: torch.mean(_ints()), RuntimeError,
     r"mean\(\): could not infer output dtype\. Input dtype must be either a floating point or complex dtype\. "
     r"Got: Long$"),
    (lambda: torch.var(_ints()), RuntimeError, r"std and var only support floating point and complex dtypes$"),
    (lambda: torch.linalg.vector_norm(_ints()), RuntimeError,
     r"linalg\.vector_norm: Expected a floating point or complex tensor as input\. Got Long$"),
    (lambda: torch.bitwise_and(torch.ones(2, dtype=_F64), _ints()), NotImplementedError,
     r"\"bitwise_and_cpu\" not implemented for 'Double'$"),
    (lambda: torch.bitwise_not(torch.ones(2)), NotImplementedError, r"\"bitwise_not_cpu\" not implemented for 'Float'$"),
    (lambda: ~torch.ones(2), TypeError, r"~ \(operator\.invert\) is only implemented on integer and Boolean-type tensors$"),
    (lambda: torch.softmax(torch.ones(2, 2, dtype=_L), 0), NotImplementedError,
     r"\"softmax_kernel_impl\" not implemented for 'Long'$"),
    (lambda: torch.log_softmax(torch.ones(2, 2, dtype=_L), 1), NotImplementedError,
     r"\"log_softmax_lastdim_kernel_impl\" not implemented for 'Long'$"),
    # matmul's wording follows the kernel torch dispatches to
    (lambda: torch.ones(0, dtype=_L) @ torch.ones(0, dtype=_F64), RuntimeError,
     r"dot : expected both vectors to have same dtype, but found Long and Double$"),
    (lambda: torch.mv(torch.ones(2, 2, dtype=_L), torch.ones(2, dtype=_F64)), RuntimeError,
     r"addmv input tensors must have the same dtype, but got Double, Long, and Double$"),
    (lambda: torch.ones(2, 2, 2, dtype=_L) @ torch.ones(2, 2, dtype=_F64), RuntimeError,
     r"expected m1 and m2 to have the same dtype, but got: long int != double$"),
    (lambda: torch.ones(2, 2, dtype=_F64) @ torch.ones(2, 2, 2, dtype=_L), RuntimeError,
     r"expected scalar type Double but found Long$"),
    (lambda: torch.ones(2, dtype=_F64, requires_grad=True) @ torch.ones(1, 1, 2, 4, dtype=_B), RuntimeError,
     r"addmv input tensors must have the same dtype, but got Double, Bool, and Double$"),
    (lambda: torch.ones(3, 4, 3) @ torch.ones(1, 3, 3, dtype=_F64, requires_grad=True), RuntimeError,
     r"expected m1 and m2 to have the same dtype, but got: float != double$"),
    (lambda: torch.bmm(torch.ones(3, 1, 2, dtype=_B), torch.ones(3, 2, 1, dtype=_F64)), NotImplementedError,
     r"\"bmm\" not implemented for 'Bool'$"),
    (lambda: torch.mm(torch.ones(1, 2, dtype=_B), torch.ones(2, 1, dtype=_B)), NotImplementedError,
     r"\"addmm_impl_cpu_\" not implemented for 'Bool'$"),
    (lambda: F.linear(torch.ones(1, 3, dtype=_F64), torch.ones(2, 3, dtype=_L), torch.ones(2, dtype=_F64)),
     RuntimeError, r"self and mat2 must have the same dtype, but got Double and Long$"),
    (lambda: F.linear(torch.ones(1, 3, dtype=_L), torch.ones(2, 3, dtype=_F64), torch.ones(2, dtype=_F64)),
     RuntimeError, r"mat1 and mat2 must have the same dtype, but got Long and Double$"),
    (lambda: torch.lerp(torch.tensor(1), torch.tensor(1.0, dtype=_F64), torch.tensor(1.0, dtype=_F64)),
     RuntimeError, r"expected dtype long int for `end` but got dtype double$"),
    (lambda: torch.ones(1).lerp_(torch.ones(1, dtype=_F64), 0.5), RuntimeError,
     r"expected dtype float for `end` but got dtype double$"),
    (lambda: torch.lerp(torch.ones(1), torch.ones(1), torch.tensor([1])), RuntimeError,
     r"expected dtype float for `weight` but got dtype long int$"),
    (lambda: torch.lerp(_ints(), _ints(), 0.5), NotImplementedError, r"\"lerp_kernel_scalar\" not implemented for 'Long'$"),
    (lambda: _ints().add_(torch.ones(2, dtype=_F64)), RuntimeError,
     r"result type Double can't be cast to the desired output type Long$"),
    # losses
    (lambda: F.binary_cross_entropy(torch.tensor(0), torch.tensor(0.5, dtype=_F64)), RuntimeError,
     r"Found dtype Double but expected Long$"),
    (lambda: F.binary_cross_entropy(_ints(), _ints()), NotImplementedError,
     r"\"binary_cross_entropy\" not implemented for 'Long'$"),
    (lambda: F.binary_cross_entropy_with_logits(torch.tensor(-1.0), torch.tensor(True)), RuntimeError,
     r"Subtraction, the `-` operator, with two bool tensors is not supported\."),
    (lambda: F.binary_cross_entropy_with_logits(torch.tensor(1), torch.tensor(1.0)), NotImplementedError,
     r"\"log_sigmoid_cpu\" not implemented for 'Long'$"),
    (lambda: F.nll_loss(torch.ones(0, 1, dtype=_L), torch.ones(0, dtype=_L)), NotImplementedError,
     r"\"nll_loss_out_frame\" not implemented for 'Long'$"),
    (lambda: F.huber_loss(torch.tensor(0), torch.tensor(0.0, dtype=_F64)), RuntimeError,
     r"result type Double can't be cast to the desired output type Long$"),
    (lambda: F.huber_loss(torch.tensor(0), torch.tensor(0)), NotImplementedError, r"\"huber_cpu\" not implemented for 'Long'$"),
    (lambda: _huber_backward(_F64, _F32, True), RuntimeError, r"Found dtype Float but expected Double$"),
    (lambda: _huber_backward(_F64, _F32, False), RuntimeError, r"Found dtype Double but expected Float$"),
    (lambda: _huber_backward(_F32, _F64, True), RuntimeError, r"Found dtype Double but expected Float$"),
    (_addcdiv_integer_divisor_backward, RuntimeError, r"result type Float can't be cast to the desired output type Long$"),
    (lambda: F.l1_loss(_bools(), torch.ones(2, dtype=_F64)), RuntimeError,
     r"with a bool tensor is not supported\. " + _MASK + "$"),
    (lambda: F.multi_margin_loss(torch.tensor([[0]]), torch.tensor([0])), NotImplementedError,
     r"\"multi_margin_loss_cpu_kernel\" not implemented for 'Long'$"),
    (lambda: F.multi_margin_loss(torch.tensor([[1.6]], dtype=_F64), torch.tensor([0]), weight=torch.tensor([100])),
     RuntimeError, r"expected scalar type Double but found Long$"),
    (lambda: F.hinge_embedding_loss(torch.tensor(0), torch.tensor(1.0, dtype=_F64)), RuntimeError,
     r"mean\(\): could not infer output dtype\. Input dtype must be either a floating point or complex dtype\. "
     r"Got: Long$"),
]


@pytest.mark.parametrize(("call", "cls", "pattern"), DTYPE_ERRORS, ids=[str(i) for i in range(len(DTYPE_ERRORS))])
def test_dtype_errors_match_torch(call, cls, pattern):  # noqa: ANN001
    with pytest.raises(cls, match=pattern):
        call()


def test_dtypes_torch_accepts():
    # each result written in from torch 2.13
    assert torch.tensor([True, False]).sign().tolist() == [True, False]
    assert (torch.tensor([0, 1, -1, 2, -1]) ** torch.tensor([-1, -1, -1, -1, -2])).tolist() == [0, 1, -1, 0, 1]
    assert (3 ** torch.tensor([-2, -1, 0, 1])).tolist() == [0, 0, 1, 3]
    assert F.hardtanh(torch.tensor(5)).item() == 1 and F.relu6(torch.tensor(7)).dtype is torch.int64
    assert torch.softmax(torch.ones(0, dtype=torch.int64), 0).dtype is torch.int64
    assert F.dropout(torch.tensor([True, True]), p=1.0).tolist() == [False, False]
    assert torch.outer(torch.tensor([1, 2]), torch.ones(2, dtype=torch.float64)).dtype is torch.float64
    assert torch.bmm(torch.ones(0, 3, 2, dtype=torch.bool), torch.ones(0, 2, 1, dtype=torch.float64)).shape == (0, 3, 1)
    assert F.huber_loss(torch.tensor([-0.75]), torch.tensor([0.75], dtype=torch.float64)).dtype is torch.float32
    out = torch.ones(2).addcmul_(torch.ones(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64))
    assert out.dtype is torch.float32 and out.tolist() == [2.0, 2.0]
    loss = F.hinge_embedding_loss(torch.tensor([0, 3, -2, 1]), torch.tensor([-1, -1, 1, 0]), margin=1.5, reduction="none")
    assert loss.tolist() == [1, 0, -2, 1] and loss.dtype is torch.int64
