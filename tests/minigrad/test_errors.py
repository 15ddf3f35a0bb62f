"""Bad input gets torch's exception class and a message naming the op, shapes and dtypes."""

import re

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


def _engine_message(origin: str, dtype: str = "Float", shape: str = "[3]") -> str:
    return ("one of the variables needed for gradient computation has been modified by an inplace operation: "
            f"[minigrad.{dtype}Tensor {shape}]{origin} is at version 1; expected version 0 instead. Hint: enable "
            "anomaly detection to find the operation that failed to compute its gradient, with "
            "minigrad.autograd.set_detect_anomaly(True, check_nan=False).")


def _modify_saved_input() -> None:
    x = torch.tensor([0.5, 1.25, 2.0], requires_grad=True)
    y = x * 1.0
    out = torch.square(y)
    y.add_(1.0)
    out.sum().backward()


def _modify_saved_output() -> None:
    x = torch.tensor([0.5, 1.25, 2.0], requires_grad=True)
    out = torch.sigmoid(x * 1.0)
    out.mul_(2.0)
    out.sum().backward()


def _modify_saved_leaf() -> None:
    x = torch.tensor([0.5, 1.25, 2.0], requires_grad=True)
    out = x.square()
    with torch.no_grad():
        x.add_(1.0)
    out.sum().backward()


#: (call, torch 2.13's exception class, torch 2.13's message with ``torch`` read as ``minigrad``)
TORCH_MESSAGES = [
    # broadcasting: operands folded in order, tensor a is the shape so far
    (lambda: torch.logical_and(torch.ones(4, 3), torch.ones(5, 3)), RuntimeError,
     "The size of tensor a (4) must match the size of tensor b (5) at non-singleton dimension 0"),
    (lambda: torch.bitwise_xor(torch.ones(1, 4, 2, dtype=torch.int64), torch.ones(1, 2, 2, dtype=torch.int64)),
     RuntimeError, "The size of tensor a (4) must match the size of tensor b (2) at non-singleton dimension 1"),
    (lambda: torch.lerp(torch.zeros(6), torch.zeros(4), 0.5), RuntimeError,
     "The size of tensor a (6) must match the size of tensor b (4) at non-singleton dimension 0"),
    (lambda: torch.zeros(6).addcmul_(torch.zeros(6), torch.zeros(4)), RuntimeError,
     "The size of tensor a (6) must match the size of tensor b (4) at non-singleton dimension 0"),
    (lambda: torch.zeros(2, 6).addcdiv_(torch.zeros(3, 1), torch.ones(1, 6)), RuntimeError,
     "The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 0"),
    (lambda: torch.nn.functional.binary_cross_entropy(torch.full((1, 3), 0.5), torch.zeros(1, 3),
                                                      weight=torch.ones(3, 3)), RuntimeError,
     "output with shape [1, 3] doesn't match the broadcast shape [3, 3]"),
    # cat and friends
    (lambda: torch.cat([torch.zeros(2, 3), torch.zeros(3)]), RuntimeError,
     "Tensors must have same number of dimensions: got 2 and 1"),
    (lambda: torch.cat([torch.zeros(2, 3, 4), torch.zeros(2, 5, 6)], 1), RuntimeError,
     "Sizes of tensors must match except in dimension 1. Expected size 4 but got size 6 for tensor number 1 in "
     "the list."),
    (lambda: torch.hstack([torch.zeros(2, 1), torch.zeros(1)]), RuntimeError,
     "Tensors must have same number of dimensions: got 2 and 1"),
    (lambda: torch.vstack([torch.zeros(2, 2, 1), torch.zeros(1, 1)]), RuntimeError,
     "Tensors must have same number of dimensions: got 3 and 2"),
    (lambda: torch.cat([]), ValueError, "minigrad.cat(): expected a non-empty list of Tensors"),
    (lambda: torch.stack([]), RuntimeError, "stack expects a non-empty TensorList"),
    (lambda: torch.nn.utils.parameters_to_vector([]), ValueError,
     "minigrad.cat(): expected a non-empty list of Tensors"),
    # narrow, split, repeat
    (lambda: torch.narrow(torch.zeros(4), 0, 3, 3), RuntimeError, "start (3) + length (3) exceeds dimension size (4)."),
    (lambda: torch.narrow(torch.zeros(0), 0, -1, 0), IndexError,
     "start out of range (expected to be in range of [0, 0], but got -1)"),
    (lambda: torch.narrow(torch.zeros(2), 0, 7, 0), IndexError,
     "start out of range (expected to be in range of [-2, 2], but got 7)"),
    (lambda: torch.narrow(torch.zeros(2), 0, 1, -1), RuntimeError, "narrow(): length must be non-negative."),
    (lambda: torch.narrow(torch.zeros(()), 0, 0, 1), RuntimeError, "narrow() cannot be applied to a 0-dim tensor."),
    (lambda: torch.split(torch.zeros(3), -1), RuntimeError,
     "split expects split_size be non-negative, but got split_size=-1"),
    (lambda: torch.split(torch.zeros(2), [-1, 1, -1]), RuntimeError,
     "split_with_sizes expects split_sizes have only non-negative entries, but got split_sizes=[-1, 1, -1]"),
    (lambda: torch.split(torch.zeros(2, 3), [1, 1], -1), RuntimeError,
     "split_with_sizes expects split_sizes to sum exactly to 3 (input tensor's size at dimension -1), but got "
     "split_sizes=[1, 1]"),
    (lambda: torch.zeros(3).repeat(2, -1), RuntimeError, "Trying to create tensor with negative dimension -3: [2, -3]"),
    # view / reshape / unflatten / expand
    (lambda: torch.zeros(2, 3).view(1, -2, -1, 1), RuntimeError,
     "invalid shape dimension -2 at index 1 of shape [1, -2, -1, 1]"),
    (lambda: torch.reshape(torch.zeros(2, 3), 6), TypeError,
     "reshape(): argument 'shape' (position 2) must be tuple of ints, not int"),
    (lambda: torch.broadcast_to(torch.zeros(3), 3), TypeError,
     "broadcast_to(): argument 'size' (position 2) must be tuple of ints, not int"),
    (lambda: torch.nn.utils.vector_to_parameters(torch.zeros(2), [torch.nn.Parameter(torch.zeros(3))]),
     RuntimeError, "shape '[3]' is invalid for input of size 2"),
    (lambda: torch.zeros(3).unflatten(0, []), RuntimeError, "unflatten: sizes must be non-empty"),
    (lambda: torch.zeros(2, 3).unflatten(-1, [2, 2]), RuntimeError,
     "unflatten: Provided sizes [2, 2] don't multiply up to the size of dim 1 (3) in the input tensor"),
    (lambda: torch.zeros(2, 3).unflatten(1, [2, -1, -2]), RuntimeError,
     "unflatten got an unexpected error:\ninvalid shape dimension -2 at index 2 of shape [2, -1, -2]"),
    (lambda: torch.zeros(4, 3, 4, 2).expand(2, 4, 3, 4), RuntimeError,
     "The expanded size of the tensor (4) must match the existing size (2) at non-singleton dimension 3.  "
     "Target sizes: [2, 4, 3, 4].  Tensor sizes: [4, 3, 4, 2]"),
    (lambda: torch.zeros(2, 1, 3, dtype=torch.float64).expand(-1, -1), RuntimeError,
     "expand(minigrad.DoubleTensor{[2, 1, 3]}, size=[-1, -1]): the number of sizes provided (2) must be greater "
     "or equal to the number of dimensions in the tensor (3)"),
    (lambda: torch.zeros(2).expand(-1, 2), RuntimeError,
     "The expanded size of the tensor (-1) isn't allowed in a leading, non-existing dimension 0"),
    (lambda: torch.zeros(()).expand(-1), RuntimeError, "numel: integer multiplication overflow"),
    # matrix products
    (lambda: torch.mm(torch.ones(2, 2, 2), torch.ones(2, 2)), RuntimeError, "self must be a matrix"),
    (lambda: torch.mm(torch.ones(2, 2), torch.ones(2)), RuntimeError, "mat2 must be a matrix"),
    (lambda: torch.bmm(torch.ones(2, 2, 2), torch.ones(1, 2, 2, 2)), RuntimeError, "batch2 must be a 3D tensor"),
    (lambda: torch.mv(torch.ones(3, 1), torch.ones(1, 1)), RuntimeError,
     "vector + matrix @ vector expected, got 1, 2, 2"),
    (lambda: torch.outer(torch.ones(2, 2), torch.ones(2)), RuntimeError,
     "outer: Expected 1-D argument self, but got 2-D"),
    # dims and indices
    (lambda: torch.softmax(torch.zeros(()), 2), IndexError,
     "Dimension out of range (expected to be in range of [-1, 0], but got 2)"),
    (lambda: torch.zeros(2, 3).permute(0, 1, 2), RuntimeError,
     "permute(sparse_coo): number of dimensions in the tensor input does not match the length of the desired "
     "ordering of dimensions i.e. input.dim() = 2 is not equal to len(dims) = 3"),
    (lambda: torch.zeros(0, 2, 3).amax(dim=(0, -5)), IndexError,
     "amax(): Expected reduction dim 0 to have non-zero size."),
    (lambda: torch.linalg.norm(torch.zeros(2, 3, 4), dim=(2, 0, -5)), RuntimeError,
     "linalg.norm: If dim is specified, it must be of length 1 or 2. Got [2, 0, -5]"),
    (lambda: torch.index_select(torch.zeros(2, 1), 1, torch.tensor([9])), RuntimeError,
     "INDICES element is out of DATA bounds, id=9 axis_dim=1"),
    # losses
    (lambda: torch.nn.functional.nll_loss(torch.zeros(3), torch.tensor([0, 1])), ValueError,
     "For 1D input, 1D target must have size 1, but got target size: 2"),
    (lambda: torch.nn.functional.nll_loss(torch.zeros(3), torch.zeros(2)), RuntimeError,
     "expected target dtype to be Long or Byte, but got Float"),
    (lambda: torch.nn.functional.nll_loss(torch.zeros(2, 2, 1, 1), torch.zeros(2, 1, dtype=torch.int64)),
     RuntimeError, "only batches of spatial targets supported (3D tensors) but got targets of dimension: 2"),
    # hyper-parameters
    (lambda: torch.nn.functional.gelu(torch.ones(2), approximate="exact"), RuntimeError,
     "approximate argument must be either none or tanh."),
    (lambda: torch.linalg.vector_norm(torch.ones(3), ord="fro"), TypeError,
     "linalg_vector_norm(): argument 'ord' must be Number, not str"),
    (lambda: torch.norm(torch.zeros(0), p=-0.5), RuntimeError,
     "linalg.vector_norm cannot compute the -0.5 norm on an empty tensor because the operation does not have an "
     "identity"),
    (lambda: torch.nn.init.uniform_(torch.zeros(2, 3), generator=1), TypeError,
     "uniform_(): argument 'generator' must be minigrad.Generator, not int"),
    (lambda: torch.nn.init.trunc_normal_(torch.zeros(2, 3), generator=1), TypeError,
     "normal_(): argument 'generator' must be minigrad.Generator, not int"),
    (lambda: torch.nn.init.calculate_gain(torch.zeros(())), ValueError, "Unsupported nonlinearity 0.0"),
    (lambda: torch.zeros(2) < "a", TypeError, "'<' not supported between instances of 'Tensor' and 'str'"),
    (lambda: torch.nn.Parameter([1.0, 2.0]), AttributeError, "'list' object has no attribute 'detach'"),
    (lambda: torch.nn.Module().register_buffer("a.b", torch.ones(2)), KeyError, "'buffer name can\\'t contain \".\"'"),
    (lambda: torch.nn.CrossEntropyLoss(label_smoothing=1.1)(torch.zeros(2, 3), torch.tensor([0, 1])), RuntimeError,
     "label_smoothing must be between 0.0 and 1.0. Got: 1.1"),
    (lambda: torch.nn.utils.clip_grads_with_norm_([_param_with_grad()], 1.0, "a"), TypeError,
     'can only concatenate str (not "float") to str'),
    # engine
    (_modify_saved_input, RuntimeError, _engine_message(", which is output 0 of Add,")),
    (_modify_saved_output, RuntimeError, _engine_message(", which is output 0 of Sigmoid,")),
    (_modify_saved_leaf, RuntimeError, _engine_message("")),
]


def _param_with_grad() -> torch.nn.Parameter:
    p = torch.nn.Parameter(torch.ones(2))
    p.grad = torch.ones(2)
    return p


@pytest.mark.parametrize(("call", "cls", "message"), TORCH_MESSAGES, ids=[m[:60] for _, _, m in TORCH_MESSAGES])
def test_torch_messages(call, cls, message):  # noqa: ANN001
    """torch 2.13's class and message; minigrad may add an op prefix and a parenthesised suffix (as the
    error-parity comparator allows)."""
    with pytest.raises(cls) as info:
        call()
    text = str(info.value)  # a KeyError shows its message quoted, as written in the table
    pattern = r"(?:[A-Za-z_][\w.]*(?:\(\))?: )?" + re.escape(message) + r"(?: \(.*\))?"
    assert re.fullmatch(pattern, text, re.DOTALL), text


def test_comparisons_with_non_numbers_are_python_s():
    # torch's operators return NotImplemented for such operands: == falls back to identity, < raises
    assert (torch.zeros(2) == "relu") is False
    assert (torch.zeros(2) != "relu") is True
    assert torch.zeros(2) not in ["linear", "relu"]
    with pytest.raises(TypeError, match=r"^unsupported operand type\(s\) for \+: 'Tensor' and 'NoneType'$"):
        torch.zeros(2) + None


def test_negative_label_smoothing_smooths_nothing():
    x, t = torch.tensor([[0.1, 0.5, -0.3], [1.0, 2.0, 3.0]]), torch.tensor([0, 2])
    # torch 2.13: 0.779428243637085 for label_smoothing -0.1 and 0.0 alike
    for smoothing in (-0.1, -0.5, 0.0):
        assert torch.nn.functional.cross_entropy(x, t, label_smoothing=smoothing).item() == pytest.approx(
            0.779428243637085, rel=1e-6)


def test_elu_output_may_be_modified_in_place():
    # torch's ELU saves its input, so scaling its output in place keeps backward legal
    x = torch.tensor([-1.0, 0.5, 2.0], requires_grad=True)
    out = torch.nn.functional.elu(x * 1.0, alpha=2.0)
    out.mul_(2.0)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2.0 * np.array([2.0 * np.exp(-1.0), 1.0, 1.0]), rtol=1e-6)


def test_anomaly_mode_names_the_failing_backward():
    x = torch.tensor([1.0, -1.0], requires_grad=True)
    assert not torch.autograd.is_anomaly_enabled()
    with torch.autograd.detect_anomaly():
        assert torch.autograd.is_anomaly_enabled()
        y = (x * 0.0) / (x * 0.0)  # 0/0: the gradient for the divisor is nan (torch 2.13's message)
        with pytest.raises(RuntimeError, match=r"^Function 'DivBackward0' returned nan values in its 1th output\.$"):
            y.sum().backward()
    assert not torch.autograd.is_anomaly_enabled()
    with torch.autograd.set_detect_anomaly(True, check_nan=False):
        z = x.square()
        with torch.no_grad():
            x.add_(1.0)
        with pytest.warns(UserWarning, match=r"^Error detected in PowBackward0\. Traceback of forward call"):
            with pytest.raises(RuntimeError, match=r"\[minigrad\.FloatTensor \[2\]\] is at version 1; expected "
                               r"version 0 instead\. Hint: the backtrace further above shows the operation that "
                               r"failed to compute its gradient\. The variable in question was changed in there or "
                               r"anywhere later\. Good luck!$"):
                z.sum().backward()
    assert not torch.autograd.is_anomaly_enabled()



@pytest.mark.parametrize("loss", ["mse_loss", "l1_loss", "huber_loss"])
@pytest.mark.parametrize("reduction", ["avg", "elementwise_mean"])
def test_weighted_regression_losses_check_reduction_like_torch(loss, reduction):
    # torch 2.13: with weight= these losses run Python code with its own check (no 'elementwise_mean' alias)
    with pytest.raises(ValueError, match=rf"^Invalid reduction mode: {reduction}\. Expected one of 'none', 'mean', 'sum'\.$"):
        getattr(torch.nn.functional, loss)(torch.ones(2), torch.ones(2), reduction=reduction, weight=torch.ones(2))


@pytest.mark.parametrize("loss", ["mse_loss", "l1_loss"])
def test_weighted_regression_losses_subtract_bool_like_torch(loss):
    # torch 2.13: the weighted path subtracts first, so bool operands get '-''s error, not the kernel's
    with pytest.raises(RuntimeError, match=r"^Subtraction, the `-` operator, with a bool tensor is not supported\."):
        getattr(torch.nn.functional, loss)(torch.ones(2), torch.ones(2, dtype=torch.bool), weight=torch.ones(2))


@pytest.mark.parametrize("dtype", [torch.int64, torch.bool])
def test_vector_norm_refuses_integer_input_even_with_dtype(dtype):
    # torch 2.13 checks the input's dtype before dtype= converts it
    name = "Long" if dtype is torch.int64 else "Bool"
    with pytest.raises(RuntimeError, match=rf"Expected a floating point or complex tensor as input\. Got {name}$"):
        torch.linalg.vector_norm(torch.ones(2, dtype=dtype), dtype=torch.float64)


@pytest.mark.parametrize("extra", [{"pos_weight": "wide"}, {"weight": "wide"}, {"weight": "narrow", "pos_weight": "wide"}])
def test_bce_with_logits_weights_may_not_widen_the_loss(extra):
    # torch 2.13 scales the loss in place, so a (pos_)weight that broadcasts it to a larger shape is an error
    arrays = {"wide": torch.full((2, 1), 2.0), "narrow": torch.tensor([3.5])}
    kwargs = {k: arrays[v] for k, v in extra.items()}
    with pytest.raises(RuntimeError, match=r"^output with shape \[1\] doesn't match the broadcast shape \[2, 1\]$"):
        torch.nn.functional.binary_cross_entropy_with_logits(torch.tensor([0.3]), torch.tensor([0.5]), **kwargs)


def test_cross_entropy_counts_a_0d_target_as_a_batch_of_0():
    # torch 2.13: a (3, 4) input with a 0-d class target
    with pytest.raises(ValueError, match=r"^Expected input batch_size \(3\) to match target batch_size \(0\)\.$"):
        torch.nn.CrossEntropyLoss()(torch.ones(3, 4), torch.tensor(3))


def test_linalg_norm_of_a_0d_input_with_a_matrix_ord():
    with pytest.raises(RuntimeError, match=r"^linalg.matrix_norm: The input tensor A must have at least 2 dimensions\.$"):
        torch.linalg.norm(torch.tensor(1.0), ord="fro", dim=0)
