"""A model file that raises KeyboardInterrupt while being imported."""

raise KeyboardInterrupt
