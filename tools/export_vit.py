"""Exports a PyTorch ViT (Hugging Face transformers or timm, with or without its head) to ONNX for
sls, with its preprocessing in the model's metadata. Optional: sls never runs or imports it.

From Python, on the model you fine-tuned (adapters, LoRA, ... stay inside the blocks):

    from export_vit import export_vit                    # tools/export_vit.py on sys.path
    export_vit(model, "model.onnx", exporter="dynamo")   # or exporter="torchscript"

From the shell, on a saved model (a Hugging Face folder or hub id, or a timm model name):

    python tools/export_vit.py hf ./my-vit model.onnx [--exporter torchscript] [--no-head]
    python tools/export_vit.py timm vit_base_patch16_224 model.onnx [--checkpoint ft.pth] [--no-head]

The graph takes `pixel_values` [batch, 3, H, W] (batch dynamic). Outputs: `logits` for a model
with a head; a headless HF ViTModel gives `last_hidden_state` and `pooler_output`, a headless timm
model its pooled features as `features`. Module paths stay the user's (the forward is shadowed on
the instance, not wrapped), so sls finds the blocks. Metadata (onnx.helper.set_model_props):
`mean`, `std` ("a,b,c") and `interpolation` (nearest|bilinear|bicubic), as sls reads them, plus
the source config as JSON (`pretrained_cfg` for timm, `preprocessor_config` for HF) so that a
centre crop travels too. mean/std come from the arguments, else timm's pretrained_cfg, else the
HF preprocessor config given; a model without any of these is refused.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

EXPORTERS = ("dynamo", "torchscript")
# PIL's resampling codes, as HF's preprocessor_config.json stores them.
PIL_RESAMPLE = {0: "nearest", 2: "bilinear", 3: "bicubic"}
# The protobuf limit: bigger graphs keep their weights beside the .onnx file.
EXTERNAL_DATA_BYTES = 1 << 30


def _is_timm(model: torch.nn.Module) -> bool:
    return hasattr(model, "pretrained_cfg") or type(model).__module__.startswith("timm.")


def _is_hf(model: torch.nn.Module) -> bool:
    return hasattr(model, "config") and type(model).__module__.startswith("transformers.")


def _input_size(model: torch.nn.Module) -> tuple[int, int]:
    if _is_timm(model):
        _, height, width = model.pretrained_cfg["input_size"]
        return int(height), int(width)
    if _is_hf(model):
        side = model.config.image_size
        return (side, side) if isinstance(side, int) else (int(side[0]), int(side[1]))
    raise ValueError("not a timm or Hugging Face model: cannot tell its input size")


def preprocessing(model: torch.nn.Module, *, mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
                  interpolation: str | None = None, preprocessor_config: dict | None = None) -> dict[str, str]:
    """The metadata_props sls reads: mean, std, interpolation, and the source config as JSON."""
    props: dict[str, str] = {}
    source: dict = {}
    if _is_timm(model):
        cfg = dict(model.pretrained_cfg)
        source = {"mean": cfg.get("mean"), "std": cfg.get("std"), "interpolation": cfg.get("interpolation")}
        props["pretrained_cfg"] = json.dumps(cfg, default=str)
    elif preprocessor_config is not None:
        resample = preprocessor_config.get("resample")
        source = {"mean": preprocessor_config.get("image_mean"), "std": preprocessor_config.get("image_std"),
                  "interpolation": PIL_RESAMPLE.get(resample) if resample is not None else None}
        props["preprocessor_config"] = json.dumps(preprocessor_config)
    mean = mean if mean is not None else source.get("mean")
    std = std if std is not None else source.get("std")
    interpolation = interpolation or source.get("interpolation") or "bilinear"
    if mean is None or std is None:
        raise ValueError("no mean/std: pass mean= and std= (the values the model was trained with)")
    if interpolation not in PIL_RESAMPLE.values():
        raise ValueError(f"interpolation {interpolation!r}: sls supports nearest, bilinear, bicubic")
    for name, values in (("mean", mean), ("std", std)):
        if len(values) != 3:
            raise ValueError(f"{name} needs three values (one per channel), got {list(values)}")
        props[name] = ",".join(repr(float(v)) for v in values)
    props["interpolation"] = interpolation
    return props


def _outputs(model: torch.nn.Module):
    """The forward to export (tensors only) and its output names."""
    forward = model.forward
    if _is_hf(model):
        # A classifier's first output is its logits; a ViTModel's are the last hidden state and
        # the pooled output (None without a pooler).
        with torch.no_grad():
            probe = forward(pixel_values=torch.zeros(1, 3, *_input_size(model)))
        names = [name for name in ("logits", "last_hidden_state", "pooler_output") if getattr(probe, name, None) is not None]
        if "logits" in names:
            names = ["logits"]
        return (lambda pixel_values: tuple(getattr(forward(pixel_values=pixel_values), n) for n in names)), names
    has_head = getattr(model, "num_classes", 1) > 0
    return (lambda pixel_values: forward(pixel_values)), ["logits" if has_head else "features"]


def export_vit(model: torch.nn.Module, path: str | Path, *, exporter: str = "dynamo", mean: Sequence[float] | None = None,
               std: Sequence[float] | None = None, interpolation: str | None = None,
               preprocessor_config: dict | None = None) -> Path:
    """Exports `model` (eval mode) to `path` with the chosen exporter and stores its preprocessing."""
    import onnx

    if exporter not in EXPORTERS:
        raise ValueError(f"exporter {exporter!r}: one of {', '.join(EXPORTERS)}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    props = preprocessing(model, mean=mean, std=std, interpolation=interpolation, preprocessor_config=preprocessor_config)
    model.eval()
    forward, output_names = _outputs(model)
    dummy = torch.zeros(2, 3, *_input_size(model))
    external = sum(p.numel() * p.element_size() for p in model.parameters()) > EXTERNAL_DATA_BYTES
    model.forward = forward
    try:
        with torch.no_grad():
            if exporter == "dynamo":
                torch.onnx.export(model, (dummy,), str(path), dynamo=True, external_data=external,
                                  input_names=["pixel_values"], output_names=output_names,
                                  dynamic_shapes=({0: torch.export.Dim("batch")},), verbose=False)
            else:
                torch.onnx.export(model, (dummy,), str(path), dynamo=False, opset_version=17,
                                  input_names=["pixel_values"], output_names=output_names,
                                  dynamic_axes={"pixel_values": {0: "batch"}, **{o: {0: "batch"} for o in output_names}})
    finally:
        del model.forward
    # The graph only: external weights stay as the exporter wrote them.
    graph = onnx.load(str(path), load_external_data=False)
    onnx.helper.set_model_props(graph, props)
    onnx.save(graph, str(path))
    return path


def _load_hf(name: str, head: bool):
    from transformers import AutoModel, AutoModelForImageClassification
    from transformers.image_processing_utils import ImageProcessingMixin

    model = (AutoModelForImageClassification if head else AutoModel).from_pretrained(name, attn_implementation="eager")
    try:
        config, _ = ImageProcessingMixin.get_image_processor_dict(name)
    except OSError:
        config = None
    return model, config


def _load_timm(name: str, head: bool, checkpoint: str | None):
    import timm

    model = timm.create_model(name, pretrained=checkpoint is None, checkpoint_path=checkpoint or "")
    if not head:
        model.reset_classifier(0)
    return model


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("library", choices=("hf", "timm"))
    parser.add_argument("model", help="HF folder or hub id; timm model name")
    parser.add_argument("out", type=Path)
    parser.add_argument("--exporter", choices=EXPORTERS, default="dynamo")
    parser.add_argument("--no-head", action="store_true", help="export the backbone only")
    parser.add_argument("--checkpoint", help="timm: a state dict to load instead of the pretrained weights")
    parser.add_argument("--mean", help="a,b,c (overrides the model's config)")
    parser.add_argument("--std", help="a,b,c (overrides the model's config)")
    parser.add_argument("--interpolation", choices=sorted(PIL_RESAMPLE.values()))
    args = parser.parse_args(argv)
    triple = (lambda text: [float(v) for v in text.split(",")] if text else None)
    config = None
    if args.library == "hf":
        model, config = _load_hf(args.model, not args.no_head)
    else:
        model = _load_timm(args.model, not args.no_head, args.checkpoint)
    path = export_vit(model, args.out, exporter=args.exporter, mean=triple(args.mean), std=triple(args.std),
                      interpolation=args.interpolation, preprocessor_config=config)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
