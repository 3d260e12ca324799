"""``python -m workflow.cli``: the same command as ``gongkai``."""

from workflow.cli.main import main

main()
