"""Plugin tests run pytest inside pytest with `pytester`."""

pytest_plugins = ["pytester"]
