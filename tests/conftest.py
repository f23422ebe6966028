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
def _isolate_mmengine_globals():
    """Each test starts from a fresh process's mmengine globals, whatever ran before it on this xdist worker.

    * Default scope: building a model or a Runner sets mmengine's global default scope, and a module-scoped fixture
      that does so would otherwise leak it into every later module on the worker (a distiller built under a leaked
      ``mmdet`` scope is looked up in ``mmdet::model`` and not found). After each test no default scope is set, as
      in a new process; a test that needs one sets it.
    * Loggers: a Runner creates an MMLogger with a FileHandler and closes the handler when it is done; the newest
      logger stays mmengine's "current instance", and the next ``init_weights`` writes to its closed stream. Loggers
      created during a test are closed and dropped after it, so the current instance is again the one before it.
    """
    loggers_before = set(MMLogger._instance_dict)
    yield
    DefaultScope._instance_dict.clear()
    for name in [n for n in MMLogger._instance_dict if n not in loggers_before]:
        logger = MMLogger._instance_dict.pop(name)
        for handler in list(logger.handlers):
            handler.close()
            logger.removeHandler(handler)
    for logger in MMLogger._instance_dict.values():
        for handler in list(logger.handlers):
            if isinstance(handler, logging.FileHandler) and handler.stream is None:
                logger.removeHandler(handler)


def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: runs for a minute or more; collected first, so that the two xdist '
                                       'workers of `make test` do not end with one long test left on one of them')


def pytest_collection_modifyitems(config, items):
    """Tests marked ``slow`` first (stable otherwise): xdist hands tests out in collection order."""
    items.sort(key=lambda item: item.get_closest_marker('slow') is None)
