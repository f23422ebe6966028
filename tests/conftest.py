import dfd_razor  # noqa: F401  (compatibility fixes before any mmrazor import in the tests)
