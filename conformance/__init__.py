"""Conformance harness: checks a torch-like autodiff library (minigrad by default) against torch.

Data flows one way: catalog -> strategies draw an IR case -> each backend evaluates it -> oracles and
compare produce records (schema.py) -> the pytest plugin aggregates -> the report renders.
"""

__version__ = "0.1.0"
