"""Op families. Importing this package registers every op (see ``_registry``)."""

from . import activation, elementwise, indexing, linalg, reduction, shape  # noqa: F401
from ._registry import FUNCTIONS, METHODS

__all__ = ["FUNCTIONS", "METHODS"]
