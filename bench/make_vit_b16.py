"""Makes the extraction benchmark's model and images (run by bench/extract.ts; outputs are not committed).

  python bench/make_vit_b16.py OUT_DIR N

OUT_DIR/model.onnx (+ model.onnx.data): a Hugging Face ViTForImageClassification with ViTConfig's
defaults (ViT-B/16: 224 x 224, 12 blocks, width 768, 86M parameters) and random weights (seed
0), exported by torch.onnx.export's dynamo exporter as users export it (weights beside the graph).
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


def vit_b16():
    from transformers import ViTConfig, ViTForImageClassification

    torch.manual_seed(0)
    return ViTForImageClassification(ViTConfig(num_labels=10, attn_implementation="eager")).eval()


def main() -> int:
    out, n = Path(sys.argv[1]), int(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    model_path = out / "model.onnx"
    if not model_path.exists():
        model = vit_b16()
        forward = model.forward
        model.forward = lambda pixel_values: forward(pixel_values=pixel_values).logits
        tmp = out / "export.tmp"
        tmp.mkdir(exist_ok=True)
        with torch.no_grad():
            torch.onnx.export(model, (torch.zeros(2, 3, 224, 224),), str(tmp / "model.onnx"), dynamo=True,
                              external_data=True, input_names=["pixel_values"], output_names=["logits"],
                              dynamic_shapes=({0: torch.export.Dim("batch")},), verbose=False)
        # The data file keeps its name (model.onnx.data); the graph file is moved last, so a
        # model.onnx that exists is whole.
        os.replace(tmp / "model.onnx.data", out / "model.onnx.data")
        os.replace(tmp / "model.onnx", model_path)
        tmp.rmdir()
    pixels_path = out / f"pixels-{n}.arrow"
    if not pixels_path.exists():
        import pyarrow as pa

        rng = np.random.default_rng(0)
        flat = rng.standard_normal((n, 3 * 224 * 224), dtype=np.float32)
        pixels = pa.FixedSizeListArray.from_arrays(pa.array(flat.reshape(-1), pa.float32()), flat.shape[1])
        labels = pa.array((np.arange(n) % 10).astype(np.int32), pa.int32())
        table = pa.Table.from_arrays([pixels, labels], names=["pixels", "label"])
        tmp = pixels_path.with_suffix(".tmp")
        with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        os.replace(tmp, pixels_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
