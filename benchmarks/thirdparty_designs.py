"""Published designs from third-party packages, built with random weights (no download).

Each public function builds one design and is a convscope MODEL spec
(``benchmarks/thirdparty_designs.py:NAME``); :data:`DESIGNS` in ``lint_zoo.py`` lists them
with their inputs. The packages are the ``zoo`` extra of ``pyproject.toml`` (a benchmark
dependency, not a user's); each is imported inside the functions that use it, so one
missing package costs only its own designs.

A few designs take their inputs in a form convscope's positional example inputs cannot
give, or return a container instead of tensors; they are wrapped in a small module that
forwards positional tensors and returns the output tensor(s):

- transformers' vision models are called with ``pixel_values=`` (:class:`PixelValues`);
- diffusers' UNets take a timestep (a ``[1]`` tensor input here) and return a dataclass
  (``return_dict=False`` in :class:`Denoiser`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

# ============================================================================ adapters


def _module(obj: Any) -> nn.Module:
    """``obj``, checked: the packages' own type hints do not always say nn.Module."""
    if not isinstance(obj, nn.Module):
        raise TypeError(f"expected an nn.Module, got {type(obj).__name__}")
    return obj


class PixelValues(nn.Module):
    """``model(pixel_values=x)`` as ``adapter(x)``, returning the last hidden state."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(pixel_values=x, return_dict=True)
        return out.last_hidden_state


class Denoiser(nn.Module):
    """A diffusers UNet called positionally with ``return_dict=False``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.model(*inputs, return_dict=False)[0]


# ============================================================================ Ultralytics


def _yolo(yaml: str) -> nn.Module:
    # Optional dependency (the zoo extra); importing ultralytics costs ~1 s.
    from ultralytics import YOLO

    return _module(YOLO(yaml).model)


def yolo11n_detect() -> nn.Module:
    return _yolo("yolo11n.yaml")


def yolo11n_seg() -> nn.Module:
    return _yolo("yolo11n-seg.yaml")


def yolo11n_pose() -> nn.Module:
    return _yolo("yolo11n-pose.yaml")


def yolo11n_cls() -> nn.Module:
    return _yolo("yolo11n-cls.yaml")


def yolov8n_detect() -> nn.Module:
    return _yolo("yolov8n.yaml")


def yolov8n_seg() -> nn.Module:
    return _yolo("yolov8n-seg.yaml")


def yolov8n_pose() -> nn.Module:
    return _yolo("yolov8n-pose.yaml")


def yolov8n_cls() -> nn.Module:
    return _yolo("yolov8n-cls.yaml")


def rtdetr_l() -> nn.Module:
    # Optional dependency (the zoo extra); YOLO() cannot build an RT-DETR yaml.
    from ultralytics import RTDETR

    return _module(RTDETR("rtdetr-l.yaml").model)


# ============================================================================ smp


def _smp(arch: str, encoder: str) -> nn.Module:
    # Optional dependency (the zoo extra).
    import segmentation_models_pytorch as smp

    return _module(smp.create_model(arch, encoder_name=encoder, encoder_weights=None, classes=2))


def smp_unet_resnet34() -> nn.Module:
    return _smp("Unet", "resnet34")


def smp_unet_mobilenet_v2() -> nn.Module:
    return _smp("Unet", "mobilenet_v2")


def smp_unetplusplus_resnet18() -> nn.Module:
    return _smp("UnetPlusPlus", "resnet18")


def smp_fpn_resnet34() -> nn.Module:
    return _smp("FPN", "resnet34")


def smp_fpn_efficientnet_b0() -> nn.Module:
    return _smp("FPN", "efficientnet-b0")


def smp_pspnet_resnet34() -> nn.Module:
    return _smp("PSPNet", "resnet34")


def smp_deeplabv3plus_resnet50() -> nn.Module:
    return _smp("DeepLabV3Plus", "resnet50")


def smp_deeplabv3_resnet34() -> nn.Module:
    return _smp("DeepLabV3", "resnet34")


def smp_linknet_resnet18() -> nn.Module:
    return _smp("Linknet", "resnet18")


def smp_pan_resnet34() -> nn.Module:
    return _smp("PAN", "resnet34")


def smp_manet_mobilenet_v2() -> nn.Module:
    return _smp("MAnet", "mobilenet_v2")


# ============================================================================ MONAI (3-D)


def _monai(name: str, **kwargs: Any) -> nn.Module:
    # Optional dependency (the zoo extra).
    from monai.networks import nets

    return _module(getattr(nets, name)(**kwargs))


def monai_unet() -> nn.Module:
    return _monai(
        "UNet",
        spatial_dims=3,
        in_channels=1,
        out_channels=2,
        channels=(16, 32, 64, 128, 256),
        strides=(2, 2, 2, 2),
        num_res_units=2,
    )


def monai_basicunet() -> nn.Module:
    return _monai("BasicUNet", spatial_dims=3, in_channels=1, out_channels=2)


def monai_segresnet() -> nn.Module:
    return _monai("SegResNet", spatial_dims=3, init_filters=16, in_channels=1, out_channels=2)


def monai_densenet121() -> nn.Module:
    return _monai("DenseNet121", spatial_dims=3, in_channels=1, out_channels=2)


def monai_attentionunet() -> nn.Module:
    return _monai(
        "AttentionUnet",
        spatial_dims=3,
        in_channels=1,
        out_channels=2,
        channels=(16, 32, 64, 128),
        strides=(2, 2, 2),
    )


def monai_dynunet() -> nn.Module:
    return _monai(
        "DynUNet",
        spatial_dims=3,
        in_channels=1,
        out_channels=2,
        kernel_size=[3, 3, 3, 3],
        strides=[1, 2, 2, 2],
        upsample_kernel_size=[2, 2, 2],
    )


def monai_vnet() -> nn.Module:
    return _monai("VNet", spatial_dims=3, in_channels=1, out_channels=2)


def monai_resnet18() -> nn.Module:
    return _monai("resnet18", spatial_dims=3, n_input_channels=1, num_classes=2)


# ============================================================================ diffusers


def diffusers_unet2d() -> nn.Module:
    # Optional dependency (the zoo extra).
    from diffusers import UNet2DModel

    return Denoiser(
        _module(
            UNet2DModel(
                sample_size=64,
                in_channels=3,
                out_channels=3,
                layers_per_block=2,
                block_out_channels=(64, 128, 128, 256),
                down_block_types=("DownBlock2D", "DownBlock2D", "AttnDownBlock2D", "DownBlock2D"),
                up_block_types=("UpBlock2D", "AttnUpBlock2D", "UpBlock2D", "UpBlock2D"),
            )
        )
    )


def diffusers_unet2d_condition() -> nn.Module:
    # Optional dependency (the zoo extra).
    from diffusers import UNet2DConditionModel

    return Denoiser(
        _module(
            UNet2DConditionModel(
                sample_size=32,
                in_channels=4,
                out_channels=4,
                layers_per_block=2,
                block_out_channels=(64, 128, 256),
                down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
                up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
                cross_attention_dim=128,
                attention_head_dim=8,
            )
        )
    )


def _autoencoder_kl() -> Any:
    # Optional dependency (the zoo extra).
    from diffusers import AutoencoderKL

    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        block_out_channels=(64, 128, 256, 256),
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        layers_per_block=2,
    )
    return vae


def diffusers_vae_encoder() -> nn.Module:
    return _module(_autoencoder_kl().encoder)


def diffusers_vae_decoder() -> nn.Module:
    return _module(_autoencoder_kl().decoder)


# ============================================================================ pytorchcv


def _pytorchcv(name: str) -> nn.Module:
    # Optional dependency (the zoo extra).
    from pytorchcv.model_provider import get_model

    return _module(get_model(name, pretrained=False))


def pytorchcv_mixnet_s() -> nn.Module:
    return _pytorchcv("mixnet_s")


def pytorchcv_mnasnet_b1() -> nn.Module:
    return _pytorchcv("mnasnet_b1")


def pytorchcv_shufflenetv2_w1() -> nn.Module:
    return _pytorchcv("shufflenetv2_w1")


def pytorchcv_peleenet() -> nn.Module:
    return _pytorchcv("peleenet")


def pytorchcv_darknet53() -> nn.Module:
    return _pytorchcv("darknet53")


def pytorchcv_hardnet39ds() -> nn.Module:
    return _pytorchcv("hardnet39ds")


def pytorchcv_proxylessnas_mobile() -> nn.Module:
    return _pytorchcv("proxylessnas_mobile")


def pytorchcv_igcv3_w1() -> nn.Module:
    return _pytorchcv("igcv3_w1")


# ============================================================================ transformers


def _hf(model_cls: str, config_cls: str, **config: Any) -> nn.Module:
    # Optional dependency (the zoo extra); transformers' top-level import is lazy.
    import transformers

    cfg = getattr(transformers, config_cls)(**config)
    return PixelValues(getattr(transformers, model_cls)(cfg))


def hf_resnet50() -> nn.Module:
    return _hf("ResNetModel", "ResNetConfig")


def hf_convnext_tiny() -> nn.Module:
    return _hf("ConvNextModel", "ConvNextConfig")


def hf_convnextv2_tiny() -> nn.Module:
    return _hf("ConvNextV2Model", "ConvNextV2Config")


def hf_regnet_y_040() -> nn.Module:
    return _hf("RegNetModel", "RegNetConfig")


def hf_efficientnet_b0() -> nn.Module:
    return _hf(
        "EfficientNetModel",
        "EfficientNetConfig",
        width_coefficient=1.0,
        depth_coefficient=1.0,
        image_size=224,
        hidden_dim=1280,  # the config's default (2560) is B7's, not B0's
    )


def hf_mobilenet_v2() -> nn.Module:
    return _hf("MobileNetV2Model", "MobileNetV2Config")


def hf_mobilenet_v1() -> nn.Module:
    return _hf("MobileNetV1Model", "MobileNetV1Config")


def hf_mobilevit_small() -> nn.Module:
    return _hf("MobileViTModel", "MobileViTConfig")


def hf_bit_resnetv2_50() -> nn.Module:
    return _hf("BitModel", "BitConfig")
