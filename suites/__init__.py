"""The bundled resilience suites: one folder a scenario, a topology file plus test functions."""
