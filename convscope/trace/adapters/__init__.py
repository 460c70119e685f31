"""Argument adapters of the ATen op table, by op family: ``args`` (the handler signature and
the argument readers every adapter shares), ``dense`` (conv, matmul, attention), ``spatial``
(norm, pooling, resampling, padding), ``shape`` (views, slices, reductions) and
``detection`` (torchvision's data-dependent ops). Each adapter only reads shapes and flags
out of the call into the frozen attrs of :mod:`convscope.ir.graph`; the arithmetic lives in
:mod:`convscope.formulas` and the passes.
"""
