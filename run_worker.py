"""The office's background worker; see :mod:`workflow.worker.run` (``python run_worker.py --help``)."""

import sys

from workflow.worker.run import main

if __name__ == "__main__":
    sys.exit(main())
