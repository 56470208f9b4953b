from tests.faults.conftest import pytest_collection_modifyitems, pytest_configure, pytest_sessionfinish, world

__all__ = ["pytest_collection_modifyitems", "pytest_configure", "pytest_sessionfinish", "world"]
