#!/usr/bin/env python
import gc
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mentorship.settings")
    # Start-up builds a great many long-lived objects and no garbage: collecting while it imports
    # only costs time (a fifth of `manage.py check`). Collection resumes once the apps are loaded,
    # with what start-up built frozen out of later collections.
    if not any(arg.startswith(("--settings", "--pythonpath")) for arg in sys.argv):
        gc.disable()
        import django

        django.setup()
        gc.freeze()
        gc.enable()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
