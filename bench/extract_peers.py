"""The peers of sls's extraction, timed on the same model and images (driven by bench/extract.ts).

  python bench/extract_peers.py EXPOSED.onnx ORIGINAL.onnx PIXELS.arrow BATCH OUT1,OUT2,...

Loads three engines, warms each up with one untimed run (as the pipeline does), prints
{"ready": ...}, then answers each line on stdin naming an engine with one timed pass over all
images, as {"engine": ..., "images_per_second": ..., "cpu_seconds_per_image": ...}, so that the caller can interleave its own
runs with these and drift in the host's load hits every engine alike:
  ort_same_graph   onnxruntime's Python InferenceSession on the graph the pipeline runs (every
                   block's CLS token taken in the graph), the session options the pipeline uses
  ort_logits       the same session options on the exported model as it is (logits only)
  torch_eager      PyTorch eager, the same weights, output_hidden_states=True, CLS rows kept
"ready" carries the largest difference between PyTorch's and onnxruntime's top-block CLS.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def read_pixels(path: str) -> np.ndarray:
    import pyarrow as pa

    table = pa.ipc.open_file(path).read_all()
    flat = np.asarray(table.column("pixels").combine_chunks().values, dtype=np.float32)
    return flat.reshape(table.num_rows, 3, 224, 224)


def timed_pass(run, images: np.ndarray, batch: int) -> dict:
    """One pass over all images; timed from the end of the first batch to the end of the last,
    the window bench/extract.ts times the pipeline over. CPU time counts every thread."""
    run(images[:batch])
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(batch, len(images), batch):
        run(images[i:i + batch])
    measured = len(images) - batch
    return {"images_per_second": measured / (time.perf_counter() - wall),
            "cpu_seconds_per_image": (time.process_time() - cpu) / measured}


def cls_rows(output: np.ndarray) -> np.ndarray:
    """The CLS rows of a block output: the output itself where the graph took them ([batch, dim]),
    else token 0 of [batch, tokens, dim]."""
    return output if output.ndim == 2 else output[:, 0].copy()


def ort_session(path: str):
    import onnxruntime as ort

    # The options lib/onnx/session.ts sets.
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = os.cpu_count()
    options.inter_op_num_threads = 1
    options.enable_cpu_mem_arena = True
    options.enable_mem_pattern = True
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def main() -> int:
    exposed, original, pixels_path, batch, outputs = sys.argv[1:6]
    batch, outputs = int(batch), outputs.split(",")
    images = read_pixels(pixels_path)

    same_graph = ort_session(exposed)
    logits_only = ort_session(original)

    import onnxruntime
    import torch

    from make_vit_b16 import vit_b16

    torch.set_num_threads(os.cpu_count())
    model = vit_b16()

    def torch_run(x):
        with torch.inference_mode():
            hidden = model(pixel_values=torch.from_numpy(x), output_hidden_states=True).hidden_states
            return [h[:, 0].clone() for h in hidden[1:]]

    engines = {
        "ort_same_graph": lambda x: [cls_rows(o) for o in same_graph.run(outputs, {"pixel_values": x})],
        "ort_logits": lambda x: logits_only.run(["logits"], {"pixel_values": x}),
        "torch_eager": torch_run,
    }
    for run in engines.values():
        run(images[:1])
    ort_top = cls_rows(same_graph.run(outputs[-1:], {"pixel_values": images[:2]})[0])
    diff = float(np.abs(torch_run(images[:2])[-1].numpy() - ort_top).max())
    print(json.dumps({"ready": True, "torch": torch.__version__, "onnxruntime": onnxruntime.__version__,
                      "torch_vs_ort_top_cls_max_abs_diff": diff}), flush=True)
    for line in sys.stdin:
        engine = line.strip()
        print(json.dumps({"engine": engine, **timed_pass(engines[engine], images, batch)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
