import os

# Under pytest-xdist (`make test` runs 2 workers on this project's 2-core machines) each worker computes with one
# thread unless the caller chose a count: two workers with a thread each fill the cores without oversubscribing them.
# Set before torch is imported, so that OpenMP reads it.
if os.environ.get('PYTEST_XDIST_WORKER') and 'OMP_NUM_THREADS' not in os.environ:
    os.environ['OMP_NUM_THREADS'] = '1'

import dfd_razor  # noqa: E402,F401  (compatibility fixes before any mmrazor import in the tests)

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


def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: runs for a minute or more; collected first, so that the two xdist '
                                       'workers of `make test` do not end with one long test left on one of them')


def pytest_collection_modifyitems(config, items):
    """Tests marked ``slow`` first (stable otherwise): xdist hands tests out in collection order."""
    items.sort(key=lambda item: item.get_closest_marker('slow') is None)
