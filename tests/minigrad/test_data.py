"""utils.data: TensorDataset, DataLoader (batching, shuffling with seeds, drop_last, collate), random_split."""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest

import minigrad as torch
from minigrad.utils.data import DataLoader, Dataset, Subset, TensorDataset, default_collate, random_split


def make_ds(n: int = 10) -> TensorDataset:
    return TensorDataset(torch.arange(2.0 * n).reshape(n, 2), torch.arange(n))


def test_tensor_dataset() -> None:
    ds = make_ds()
    assert len(ds) == 10
    x, y = ds[3]
    assert x.tolist() == [6.0, 7.0] and y.item() == 3
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        TensorDataset(torch.zeros(3), torch.zeros(4))


def test_batches_in_order_and_last_partial_batch() -> None:
    loader = DataLoader(make_ds(), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 == len(batches)
    assert [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert batches[0][0].shape == (4, 2) and batches[0][1].dtype is torch.int64
    dropped = DataLoader(make_ds(), batch_size=4, drop_last=True)
    assert len(dropped) == 2 and [b[1].tolist() for b in dropped] == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_shuffle_is_a_seeded_permutation_per_epoch() -> None:
    ds = make_ds()
    torch.manual_seed(0)
    loader = DataLoader(ds, batch_size=3, shuffle=True)
    epoch1 = np.concatenate([y.numpy() for _, y in loader])
    epoch2 = np.concatenate([y.numpy() for _, y in loader])
    assert sorted(epoch1.tolist()) == list(range(10)) and sorted(epoch2.tolist()) == list(range(10))
    assert epoch1.tolist() != epoch2.tolist()  # a new permutation each epoch
    for x, y in loader:  # inputs stay paired with targets
        np.testing.assert_array_equal(x.numpy()[:, 0], 2 * y.numpy())
    torch.manual_seed(0)
    again = np.concatenate([y.numpy() for _, y in DataLoader(ds, batch_size=3, shuffle=True)])
    assert again.tolist() == epoch1.tolist()
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    a = [y.tolist() for _, y in DataLoader(ds, batch_size=5, shuffle=True, generator=g1)]
    b = [y.tolist() for _, y in DataLoader(ds, batch_size=5, shuffle=True, generator=g2)]
    assert a == b


def test_default_collate() -> None:
    assert default_collate([1.5, 2.5]).dtype is torch.float64  # Python floats -> float64, as torch
    assert default_collate([1, 2]).dtype is torch.int64
    out = default_collate([{"x": np.ones(2, dtype=np.float32), "name": "a"}, {"x": np.zeros(2, dtype=np.float32), "name": "b"}])
    assert out["x"].shape == (2, 2) and out["x"].dtype is torch.float32 and out["name"] == ["a", "b"]
    pair = default_collate([(torch.ones(3), 0), (torch.zeros(3), 1)])
    assert isinstance(pair, list) and pair[0].shape == (2, 3) and pair[1].tolist() == [0, 1]
    Point = namedtuple("Point", "x y")
    pt = default_collate([Point(1.0, 2), Point(3.0, 4)])
    assert isinstance(pt, Point) and pt.x.tolist() == [1.0, 3.0]


def test_custom_dataset_and_collate_fn() -> None:
    class Squares(Dataset):
        def __len__(self) -> int:
            return 5

        def __getitem__(self, i: int) -> tuple[float, int]:
            return float(i * i), i

    batches = list(DataLoader(Squares(), batch_size=2, collate_fn=lambda b: [s[1] for s in b]))
    assert batches == [[0, 1], [2, 3], [4]]
    xs, ys = next(iter(DataLoader(Squares(), batch_size=5)))
    assert xs.tolist() == [0.0, 1.0, 4.0, 9.0, 16.0] and ys.tolist() == [0, 1, 2, 3, 4]
    unbatched = list(DataLoader(Squares(), batch_size=None))
    assert unbatched[2] == [4.0, 2]  # torch: [4.0, 2] (default_convert turns a tuple into a list)


def test_random_split() -> None:
    ds = make_ds(10)
    a, b = random_split(ds, [7, 3], generator=torch.Generator().manual_seed(1))
    assert isinstance(a, Subset) and len(a) == 7 and len(b) == 3
    assert sorted(list(a.indices) + list(b.indices)) == list(range(10))
    c, d = random_split(ds, [0.5, 0.5])
    assert len(c) == len(d) == 5
    with pytest.raises(ValueError, match="Sum of input lengths does not equal the length of the input dataset!"):
        random_split(ds, [3, 3])


def test_loader_argument_errors() -> None:
    with pytest.raises(ValueError, match="batch_size should be a positive integer value"):
        DataLoader(make_ds(), batch_size=0)
    # torch: num_workers < 0 is an error; num_workers > 0 loads the same batches (minigrad: in-process)
    with pytest.raises(ValueError, match=r"num_workers option should be non-negative; use num_workers=0 to disable"):
        DataLoader(make_ds(), num_workers=-1)
    with pytest.raises(ValueError, match="timeout option should be non-negative"):
        DataLoader(make_ds(), timeout=-1)
    assert [b[1].tolist() for b in DataLoader(make_ds(), batch_size=4, num_workers=2)] == \
        [b[1].tolist() for b in DataLoader(make_ds(), batch_size=4)]
