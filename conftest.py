"""Root conftest: the shared pytest plugin (PostgreSQL discovery, tokens) for every suite."""

pytest_plugins = ["common.testing"]
