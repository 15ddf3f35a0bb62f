"""The global random generator (a NumPy Generator), seeded by :func:`manual_seed`."""

from __future__ import annotations

import numpy as np

_DEFAULT_SEED = 67280421310721  # torch's default initial seed, so unseeded runs are reproducible too
_generator = np.random.default_rng(_DEFAULT_SEED)
_seed = _DEFAULT_SEED


class Generator:
    """A seedable source of random numbers, as ``torch.Generator`` (``manual_seed``, ``initial_seed``)."""

    def __init__(self, device: str = "cpu") -> None:
        self._seed = _DEFAULT_SEED
        self.rng = np.random.default_rng(self._seed)

    def manual_seed(self, seed: int) -> Generator:
        self._seed = int(seed)
        self.rng = np.random.default_rng(self._seed)
        return self

    def initial_seed(self) -> int:
        return self._seed


def manual_seed(seed: int) -> Generator:
    """Seed minigrad's global generator (NumPy's PCG64; streams differ from torch's)."""
    global _generator, _seed
    _seed = int(seed)
    _generator = np.random.default_rng(_seed)
    default_generator.rng = _generator
    default_generator._seed = _seed
    return default_generator


def initial_seed() -> int:
    return _seed


def rng(generator: Generator | None = None, op: str = "random") -> np.random.Generator:
    """The NumPy generator to draw from: the given one or the global one (``op`` names the caller in
    torch's TypeError for a generator of the wrong type)."""
    if generator is None:
        return default_generator.rng
    if not isinstance(generator, Generator):
        raise TypeError(f"{op}(): argument 'generator' must be minigrad.Generator, not {type(generator).__name__}")
    return generator.rng


default_generator = Generator()
default_generator.rng = _generator
