"""The benchmark tests share the search tests' private dataset cache."""

from tests.search.conftest import cache_home

__all__ = ["cache_home"]
