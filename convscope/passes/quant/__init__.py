"""Quantization fragility from the weights alone.

Depthwise-heavy models collapse under per-tensor INT8 because the per-output-channel
weight ranges *after BatchNorm folding* differ by orders of magnitude (Nagel et al. 2019,
"Data-Free Quantization", §3.1; Sheng et al. 2018), not because of their small accumulation
length. This pass measures what that costs, per conv / linear layer: how many channels one
per-tensor scale leaves with too few effective bits.

Formulas (``o`` is an output channel, ``W[o]`` its weights, ``R = max_o r_o``):

* **BatchNorm folding** (inference): a BatchNorm whose input comes straight from a conv or
  linear layer (views aside) that feeds nothing else folds into it with the fold factor
  ``f_o = γ_o / sqrt(var_o + eps)``: ``W_fold[o] = f_o · W[o]`` and
  ``b_fold[o] = (b_o − mean_o) · f_o + β_o`` (``γ = 1, β = 0`` for a non-affine BN,
  ``b = 0`` for a conv without bias). Every figure below is taken on ``W_fold``.
* **channel range** ``r_o = max |W_fold[o]|``; **range spread** ``R / lower-median_o r_o``.
  Every median here is the *lower median*, the ``⌈n/2⌉``-th smallest value: a real
  channel's, never the mean of the two middle ones.
* **per-tensor symmetric INT8**: ``q(w) = s · clamp(round(w / s), −127, 127)`` with one
  scale ``s = R / 127`` (narrow range, zero point 0); **per-channel**: ``s_o = r_o / 127``.
* **effective bits** of output channel ``o`` under the per-tensor scale:
  ``b_o = log2(2 · m_o + 1)`` with ``m_o = max |round(W_fold[o] / s)| = round(r_o / s)``
  (clamped to ``qmax``; rounding half to even, as the fake quantizers do): the log of the
  number of grid levels ``−m_o … m_o`` its weights can take. 0 bits when every weight of
  the channel rounds to zero, ``log2(255) = 7.99`` for the channel that sets ``R``; a
  channel with ``r_o = R / 10`` keeps ``log2(2 · 13 + 1) = 4.75`` bits.
* **starved channels**: output channels with ``b_o < min_bits`` (default 4). Their share is
  a count over real channels, so it sees damage a max/median ratio is blind to: with up to
  half the channels starved the median channel is a healthy one.
* **input-channel bits** of a non-depthwise conv / linear layer under per-output-channel
  scales ``s_o = r_o / qmax``: ``log2(2 · m_i + 1)``, ``m_i = max_o |round(W[o, i] / s_o)|``.
  An input channel whose every weight is small stays starved whatever the output-channel
  scales are: per-channel quantization cannot fix it, cross-layer equalization with the
  layer before can.
* **weight SQNR** (dB) ``= 10 · log10(‖W_fold‖² / ‖W_fold − q(W_fold)‖²)``, with ``q`` the
  per-tensor or per-channel fake quantizer (``torch.fake_quantize_per_tensor_affine`` /
  ``torch.fake_quantize_per_channel_affine``); infinite when quantization is exact. The
  whole-tensor figure is dominated by the largest channels, so the median over channels of
  each channel's own SQNR (``‖W[o]‖² / ‖W[o] − q(W)[o]‖²``) is reported as well.
* **accumulation length** ``prod(kernel) · C_in / groups`` (``K² · C_in / groups``) for a
  conv, the input features for a linear layer: context only.
* **fold-factor ratio** ``max_o |f_o| / lower-median_o |f_o|``: how much the BatchNorm alone
  inflates the largest channels relative to the typical one. Channels with
  ``|γ_o| < gamma_eps`` are *dead* (the BN outputs the constant ``β_o``); channels with
  ``var_o < var_eps`` are *constant* (the layer's output channel did not vary on the data
  the statistics saw, so ``f_o = γ_o / sqrt(eps)`` blows its folded weights up to
  ``1/sqrt(eps) ≈ 316`` times).
* **cross-layer equalization** (Nagel et al. 2019, §4.1) for ``layer 1 → (BN) →
  activation → layer 2``: scaling output channel ``i`` of layer 1 by ``1/s_i`` and input
  channel ``i`` of layer 2 by ``s_i`` leaves the function unchanged for a positively
  homogeneous activation (ReLU, leaky ReLU, PReLU, none; not ReLU6, whose clip point would
  move). With ``r1_i`` the output-channel range of layer 1 and ``r2_i`` the input-channel
  range of layer 2, the ranges become ``r1_i / s_i`` and ``r2_i · s_i``; making them equal
  gives ``s_i = (1 / r2_i) · sqrt(r1_i · r2_i) = sqrt(r1_i / r2_i)`` and both equal
  ``sqrt(r1_i · r2_i)``.

Modules: ``options`` (the pass thresholds); ``sites`` (which conv folds which BatchNorm and
which layer pairs can be equalized, found on the frozen IR); ``grid`` (effective bits on the
integer grid, starved shares); ``weights`` (per-layer weight figures, fold statistics and
equalization results, with the QF tests on them); ``activations`` (calibration figures);
``report`` (the ``QUANT`` section); ``numeric`` (the torch numerics on real weights). All
but ``numeric`` never import torch: without weights the report carries a ``skipped_reason``
and no numbers. Nothing is mutated. The entry points that measure a model and attach the
report to an analysis are :mod:`convscope.analysis.quant`.
"""
