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
