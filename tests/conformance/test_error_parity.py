"""The error-parity comparator and strategies (conformance/errors.py, conformance/strategies/errors.py)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings

from conformance import catalog
from conformance.backends import load_backend
from conformance.errors import ErrorCase, compare_exceptions, normalise, repro_script, run_error_case
from conformance.strategies.errors import categories, engine_case, error_case


def test_normalise_names_addresses_devices_and_cpp_tail():
    text = "torch.float32 at 0x7f3a2b on cuda:0 (Torch)\nException raised from foo at bar.cpp:12"
    assert normalise(text) == "minigrad.float32 at 0x? on cuda (minigrad)"


def test_same_class_and_message_pass_with_context_added():
    ok = compare_exceptions(RuntimeError("index 5 is out of bounds for dimension 0 with size 3"),
                            RuntimeError("gather(): index 5 is out of bounds for dimension 0 with size 3"))
    assert ok["ok"] and ok["quantity"] == "exception"
    assert compare_exceptions(None, None)["ok"]
    suffix = compare_exceptions(RuntimeError("The size of tensor a (3) must match"),
                                RuntimeError("The size of tensor a (3) must match (add of shapes [3] and [4])"))
    assert suffix["ok"]


def test_differences_fail_with_both_strings():
    missing = compare_exceptions(TypeError("assigned grad expected to be a Tensor or None but got grad of type float"),
                                 None)
    assert not missing["ok"] and missing["actual"] == "no exception"
    assert missing["expected"].startswith("TypeError: assigned grad")
    assert not compare_exceptions(None, ValueError("x"))["ok"]
    assert not compare_exceptions(ValueError("bad"), TypeError("bad"))["ok"]
    assert not compare_exceptions(ValueError("Invalid learning rate: -1"), ValueError("Invalid learning rate: -10"))["ok"]


def test_listed_kernel_message_needs_the_dtype():
    torch_exc = NotImplementedError('"abs_cpu" not implemented for \'Bool\'')
    assert compare_exceptions(torch_exc, NotImplementedError('"abs" not implemented for \'Bool\''))["ok"]
    assert not compare_exceptions(torch_exc, NotImplementedError('"abs" not implemented for \'Long\''))["ok"]


def test_categories_follow_catalogue_data():
    assert set(categories(catalog.get("gather"))) >= {"dtype", "index", "dim", "shape"}
    assert "hyper" in categories(catalog.get("cross_entropy"))
    assert "hyper" in categories(catalog.get("Adam"))
    assert categories(catalog.get("exp")) == ("dtype",)


def test_cases_run_in_both_libraries_and_round_trip():
    torch_backend, minigrad = load_backend("torch"), load_backend("minigrad")
    seen = []

    @settings(max_examples=5, derandomize=True, database=None)
    @given(case=error_case(catalog.get("SGD"), "hyper"))
    def prop(case: ErrorCase) -> None:
        again = ErrorCase.from_json(case.to_json())
        assert again.code == case.code and again.digest() == case.digest()
        seen.append(compare_exceptions(run_error_case(case, torch_backend), run_error_case(case, minigrad)))

    prop()
    assert seen


def test_engine_case_and_repro_script():
    case = ErrorCase("engine: grad assigned a float", "engine", "x.grad = 0.0", {"x": (np.ones(2), True)})
    exc = run_error_case(case, load_backend("torch"))
    assert isinstance(exc, TypeError)
    script = repro_script(case.to_json())
    compile(script, "repro.py", "exec")
    assert "x.grad = 0.0" in script

    @settings(max_examples=3, derandomize=True, database=None)
    @given(case=engine_case())
    def prop(case: ErrorCase) -> None:
        assert case.category == "engine" and case.subject.startswith("engine: ")

    prop()
