"""The pytest plugin of pytest-chaos (glue only)."""
