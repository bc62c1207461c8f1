"""Makes the benchmarks' ViT-B/16 models and images (run by bench/extract.ts and bench/e2e.ts; outputs are not committed).

  python bench/make_vit_b16.py OUT_DIR N [--adapters] [--width W]   (N = 0: the model only)

OUT_DIR/model.onnx (+ model.onnx.data): a Hugging Face ViTForImageClassification with ViTConfig's
defaults (ViT-B/16: 224 x 224, 12 blocks, width 768, 86M parameters) and random weights (seed
0), exported by torch.onnx.export's dynamo exporter as users export it (weights beside the graph).
With --adapters, every block's MLP output Linear carries a Houlsby bottleneck adapter (width 64,
random weights, seed 1), as a parameter-efficiently adapted model has them. With --width W, the
same 12 blocks at width W (W / 64 heads, MLP 4 W; 192 is ViT-Ti/16's geometry): where a run's
cost is the t-SNEs', not the forward passes (bench/repeats.ts).
OUT_DIR/pixels-N.arrow: N random preprocessed images, pixels FixedSizeList<f32>[3*224*224], label.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import numpy as np
import torch

warnings.filterwarnings("ignore")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "test" / "fixtures"))

ADAPTER_WIDTH = 64


def vit_b16(adapters: bool = False, width: int = 768):
    from transformers import ViTConfig, ViTForImageClassification

    torch.manual_seed(0)
    config = ViTConfig(num_labels=10, attn_implementation="eager", hidden_size=width,
                       num_attention_heads=width // 64, intermediate_size=4 * width)
    model = ViTForImageClassification(config)
    if adapters:
        from export_fixtures import Adapter

        torch.manual_seed(1)
        for block in model.vit.layers:
            block.mlp.fc2 = Adapter(block.mlp.fc2, bottleneck=ADAPTER_WIDTH)
    return model.eval()


def export(model, model_path: Path, side: int = 224) -> None:
    out = model_path.parent
    forward = model.forward
    model.forward = lambda pixel_values: forward(pixel_values=pixel_values).logits
    tmp = out / "export.tmp"
    tmp.mkdir(exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(model, (torch.zeros(2, 3, side, side),), str(tmp / "model.onnx"), dynamo=True,
                          external_data=True, input_names=["pixel_values"], output_names=["logits"],
                          dynamic_shapes=({0: torch.export.Dim("batch")},), verbose=False)
    del model.forward
    # The data file keeps its name (model.onnx.data); the graph file is moved last, so a
    # model.onnx that exists is whole.
    os.replace(tmp / "model.onnx.data", out / "model.onnx.data")
    os.replace(tmp / "model.onnx", model_path)
    tmp.rmdir()


def write_pixels(path: Path, flat: np.ndarray, labels: np.ndarray) -> None:
    import pyarrow as pa

    pixels = pa.FixedSizeListArray.from_arrays(pa.array(flat.reshape(-1), pa.float32()), flat.shape[1])
    table = pa.Table.from_arrays([pixels, pa.array(labels.astype(np.int32), pa.int32())], names=["pixels", "label"])
    tmp = path.with_suffix(".tmp")
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    os.replace(tmp, path)


def main() -> int:
    out, n = Path(sys.argv[1]), int(sys.argv[2])
    flags = sys.argv[3:]
    adapters = "--adapters" in flags
    width = int(flags[flags.index("--width") + 1]) if "--width" in flags else 768
    out.mkdir(parents=True, exist_ok=True)
    model_path = out / "model.onnx"
    if not model_path.exists():
        export(vit_b16(adapters, width), model_path)
    pixels_path = out / f"pixels-{n}.arrow"
    if n > 0 and not pixels_path.exists():
        rng = np.random.default_rng(0)
        write_pixels(pixels_path, rng.standard_normal((n, 3 * 224 * 224), dtype=np.float32), np.arange(n) % 10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
