"""A factory that calls sys.exit(3): a model must not end the process."""

import sys


def build_model():
    sys.exit(3)
