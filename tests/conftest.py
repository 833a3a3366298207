pytest_plugins = ["podsmith_core.testing.fixtures"]
