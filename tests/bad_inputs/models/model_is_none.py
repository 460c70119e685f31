"""`model` is bound to None."""

model = None
