import dfd_razor  # noqa: F401  (compatibility fixes before any mmrazor import in the tests)

import logging  # noqa: E402

from mmengine.logging import MMLogger  # noqa: E402

# init_weights reports every tensor at INFO; tests read warnings and errors only.
MMLogger.get_current_instance().setLevel(logging.WARNING)

import pytest  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402


@pytest.fixture(autouse=True)
def _restore_default_scope():
    """Building a model sets mmengine's global default scope; each test starts from the scope it found."""
    before = dict(DefaultScope._instance_dict)
    yield
    DefaultScope._instance_dict.clear()
    DefaultScope._instance_dict.update(before)
