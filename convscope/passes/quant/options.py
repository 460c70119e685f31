"""The thresholds of the quantization pass."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DEFAULT_BN_EPS = 1e-5


@dataclass(frozen=True)
class QuantOptions:
    """Thresholds of the quantization pass (the lint rules carry their own copies, with the
    same defaults, so ``analyze --quant`` and ``lint`` agree unless a config moves them).

    ``min_bits`` 4 and ``max_starved_share`` 0.05: on trained depthwise-separable CNNs the
    layers whose per-tensor quantization alone moved the logits by 30–170 % had 97–99 % of
    their channels below 4 bits, healthy layers at most 3 %, and 8 of 128 starved channels
    (6 %) already cost 22 % logit error (``benchmarks/quant_trained.py``).
    ``outlier_ratio`` 3.5 at ``outlier_percentile`` 0.975 are the defaults of PyTorch's
    ``torch.ao.quantization`` ModelReport ``OutlierDetector``.
    """

    bits: int = 8
    min_bits: float = 4.0
    max_starved_share: float = 0.05
    gamma_eps: float = 1e-6
    var_eps: float = 1e-8
    outlier_ratio: float = 3.5
    outlier_percentile: float = 0.975

    @property
    def qmax(self) -> int:
        """Largest level of the symmetric narrow-range grid: 127 for 8 bits."""
        return 2 ** (self.bits - 1) - 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "bits": self.bits,
            "scheme": f"symmetric, levels [-{self.qmax}, {self.qmax}], zero point 0",
            "min_bits": self.min_bits,
            "max_starved_share": self.max_starved_share,
            "gamma_eps": self.gamma_eps,
            "var_eps": self.var_eps,
            "outlier_ratio": self.outlier_ratio,
            "outlier_percentile": self.outlier_percentile,
        }
