#!/usr/bin/python3
"""examples/alexnet-forward's network in torch.nn, with the same weights and
input (lenet5_uniform's generator, bit for bit), timed the same way (a
warm-up, then the median of --reps runs), as JSON lines; --compare FILE
checks batch 1's outputs against alexnet-forward's --out file.
"""
import argparse
import json
import time

import numpy as np
import torch
import torch.nn.functional as F

from lenet5_torch import uniform

CONVS = [(3, 96, 11, 4, 0), (96, 256, 5, 1, 2), (256, 384, 3, 1, 1), (384, 384, 3, 1, 1),
         (384, 256, 3, 1, 1)]
POOLED = [True, True, False, False, True]
FCS = [(9216, 4096), (4096, 4096), (4096, 1000)]


def weights(seed, grouped):
    first, convs, fcs = 0, [], []
    for l, (c, k, r, s, p) in enumerate(CONVS):
        g = 2 if grouped and l in (1, 3, 4) else 1
        fan = c // g * r * r
        bound = np.float32(1.0) / np.sqrt(np.float32(fan))
        w = uniform(seed, first, k * fan + k) * bound
        first += k * fan + k
        convs.append((torch.from_numpy(w[:k * fan].reshape(k, c // g, r, r)),
                      torch.from_numpy(w[k * fan:]), s, p, g))
    for i, o in FCS:
        bound = np.float32(1.0) / np.sqrt(np.float32(i))
        w = uniform(seed, first, i * o) * bound
        first += i * o
        b = uniform(seed, first, o) * bound
        first += o
        fcs.append((torch.from_numpy(w.reshape(o, i)), torch.from_numpy(b)))
    return convs, fcs


def forward(x, convs, fcs):
    for l, (w, b, s, p, g) in enumerate(convs):
        x = F.relu(F.conv2d(x, w, b, stride=s, padding=p, groups=g))
        if POOLED[l]:
            x = F.max_pool2d(x, 3, 2)
    x = x.flatten(1)
    for l, (w, b) in enumerate(fcs):
        x = F.linear(x, w, b)
        if l < 2:
            x = F.relu(x)
    return x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", default="1,16")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--grouped", action="store_true")
    ap.add_argument("--compare")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    convs, fcs = weights(a.seed, a.grouped)
    for bi, batch in enumerate(int(b) for b in a.batch.split(",")):
        x = torch.from_numpy(uniform(a.seed + 1, 0, batch * 3 * 227 * 227).reshape(batch, 3, 227, 227))
        with torch.no_grad():
            y = forward(x, convs, fcs)
            t = []
            for _ in range(a.reps):
                t0 = time.perf_counter()
                y = forward(x, convs, fcs)
                t.append(time.perf_counter() - t0)
        med = sorted(t)[len(t) // 2]
        rec = {"framework": "pytorch", "version": torch.__version__, "batch": batch,
               "threads": a.threads, "grouped": int(a.grouped), "median_ms": 1e3 * med,
               "images_per_second": batch / med}
        if a.compare and bi == 0:
            ours = np.fromfile(a.compare, dtype=np.float32)
            ref = y[0].numpy().astype(np.float64)
            rec["max_abs_diff_vs_vconv"] = float(np.max(np.abs(ours - ref)))
            rec["max_abs_output"] = float(np.max(np.abs(ref)))
        print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
