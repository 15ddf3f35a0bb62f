"""The property tests ``python -m conformance run`` executes (also ``pytest --pyargs conformance.suite``)."""
