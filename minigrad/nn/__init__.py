"""``minigrad.nn``: modules, parameters, layers, losses, ``functional``, ``init`` and ``utils``, as ``torch.nn``."""

from . import functional, init, modules, utils
from .modules import *  # noqa: F403 - every module class, listed once in modules.__all__
from .parameter import Parameter

__all__ = [*modules.__all__, "Parameter", "functional", "init", "utils"]
