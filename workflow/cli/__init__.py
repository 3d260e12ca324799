"""The ``gongkai`` command line: ``main.py`` holds the group, one module per command group beside it."""
