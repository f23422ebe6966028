import dfd_razor  # noqa: F401  (compatibility fixes before any mmrazor import in the tests)

import logging  # noqa: E402

from mmengine.logging import MMLogger  # noqa: E402

# init_weights reports every tensor at INFO; tests read warnings and errors only.
MMLogger.get_current_instance().setLevel(logging.WARNING)
