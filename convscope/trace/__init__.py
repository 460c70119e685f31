"""The dispatch recorder that turns a forward pass into the frozen IR, and the ATen op table it
prices with.
"""
