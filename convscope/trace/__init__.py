"""The dispatch recorder that turns a forward pass into the frozen IR (``recorder``), and the
ATen op table it prices with: ``classify`` (one call → kind and attrs), ``table`` (the
entries), ``registry`` (the builder that refuses duplicates) and ``adapters`` (the argument
adapters, by op family).
"""
