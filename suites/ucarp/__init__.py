"""ucarp pair scenarios."""
