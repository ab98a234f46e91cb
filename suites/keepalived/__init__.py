"""keepalived pair and split brain scenarios."""
