"""Helpers of the integration tests; the fixtures that use them are in ../conftest.py."""
