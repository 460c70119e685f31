"""Torch-side validation of the static results: receptive fields by gradients (verify-rf, ERF)
and counts against fvcore / FlopCounterMode.
"""
