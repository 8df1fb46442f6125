#!/usr/bin/python3
"""The LeNet-5 of examples/lenet5.h in PyTorch, for scripts/train-lenet5.

Same network (the C3 connection table as a fixed weight mask), same initial
weights (lenet5_uniform's generator, reproduced bit for bit with numpy), same
image order (lenet5_shuffle), batch, SGD with momentum and thread count as
lenet5-train; the init and order digests in the JSON show they agree.
"""
import argparse
import gzip
import json
import math
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

GOLDEN = 0x9E3779B97F4A7C15
MASK64 = (1 << 64) - 1
C3_TABLE = [
    "111000", "011100", "001110", "000111", "100011", "110001",
    "111100", "011110", "001111", "100111", "110011", "111001",
    "110110", "011011", "101101", "111111",
]
# Parameter offsets, as the enum in lenet5.h.
SIZES = [("w1", 150), ("b1", 6), ("w3", 2400), ("b3", 16), ("w5", 48000), ("b5", 120),
         ("w6", 10080), ("b6", 84), ("w7", 840), ("b7", 10)]


def splitmix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def uniform(seed, first, count):
    """lenet5_uniform(seed, i) for i in [first, first + count), as float32."""
    with np.errstate(over="ignore"):
        i = np.arange(first + 1, first + count + 1, dtype=np.uint64)
        z = np.uint64(seed) + i * np.uint64(GOLDEN)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    top = (z >> np.uint64(40)).astype(np.float32)
    return top * np.float32(2.0 ** -23) - np.float32(1.0)


def init_params(seed):
    off, params = 0, {}
    for name, n in SIZES:
        params[name] = (off, n)
        off += n
    out = np.zeros(off, dtype=np.float32)

    def layer(w, b, fan):
        bound = np.float32(1.0) / np.sqrt(np.float32(fan))
        (wo, wn), (bo, bn) = params[w], params[b]
        out[wo:wo + wn] = uniform(seed, wo, wn) * bound
        out[bo:bo + bn] = uniform(seed, bo, bn) * bound

    layer("w1", "b1", 25)
    layer("w5", "b5", 400)
    layer("w6", "b6", 120)
    layer("w7", "b7", 84)
    wo, bo = params["w3"][0], params["b3"][0]
    for k in range(16):
        maps = C3_TABLE[k].count("1")
        bound = np.float32(1.0) / np.sqrt(np.float32(maps * 25))
        for c in range(6):
            if C3_TABLE[k][c] == "1":
                i = wo + (k * 6 + c) * 25
                out[i:i + 25] = uniform(seed, i, 25) * bound
        out[bo + k] = uniform(seed, bo + k, 1)[0] * bound
    return out, params


def shuffle(seed, epoch, count):
    order = list(range(count))
    z = seed ^ (((epoch + 1) * GOLDEN) & MASK64)
    for i in range(count - 1, 0, -1):
        z = (z + GOLDEN) & MASK64
        r = splitmix64(z)
        j = ((r >> 32) * (i + 1)) >> 32
        order[i], order[j] = order[j], order[i]
    return order


def fnv1a(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & MASK64
    return "%016x" % h


def load_idx(path, ndim):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if raw[:4] != bytes([0, 0, 8, ndim]):
        sys.exit("lenet5_torch: %s: wrong magic number" % path)
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        sys.exit("lenet5_torch: %s: size disagrees with its header" % path)
    return data.reshape(dims)


def prepare(pixels):
    """lenet5_prepare: the same float32 operations, so the same bits."""
    x = pixels.astype(np.float32) / np.float32(255.0)
    x = (x - np.float32(0.2860)) * (np.float32(1.0) / np.float32(0.3530))
    zero = (np.float32(0.0) - np.float32(0.2860)) * (np.float32(1.0) / np.float32(0.3530))
    out = np.full((pixels.shape[0], 1, 32, 32), zero, dtype=np.float32)
    out[:, 0, 2:30, 2:30] = x
    return out


class LeNet5(torch.nn.Module):
    def __init__(self, p, params):
        super().__init__()

        def t(name, shape):
            o, n = params[name]
            return torch.nn.Parameter(torch.from_numpy(p[o:o + n].copy()).reshape(shape))

        self.w1, self.b1 = t("w1", (6, 1, 5, 5)), t("b1", (6,))
        self.w3, self.b3 = t("w3", (16, 6, 5, 5)), t("b3", (16,))
        self.w5, self.b5 = t("w5", (120, 16, 5, 5)), t("b5", (120,))
        self.w6, self.b6 = t("w6", (84, 120)), t("b6", (84,))
        self.w7, self.b7 = t("w7", (10, 84)), t("b7", (10,))
        mask = torch.tensor([[float(ch) for ch in row] for row in C3_TABLE])
        self.register_buffer("mask", mask.reshape(16, 6, 1, 1))

    def forward(self, x):
        x = F.max_pool2d(F.relu(F.conv2d(x, self.w1, self.b1)), 2)
        x = F.max_pool2d(F.relu(F.conv2d(x, self.w3 * self.mask, self.b3)), 2)
        x = F.relu(F.conv2d(x, self.w5, self.b5)).flatten(1)
        x = F.relu(F.linear(x, self.w6, self.b6))
        return F.linear(x, self.w7, self.b7)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--json")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    d = a.data
    tx = load_idx(d + "/train-images-idx3-ubyte.gz", 3)
    ty = load_idx(d + "/train-labels-idx1-ubyte.gz", 1)
    vx = load_idx(d + "/t10k-images-idx3-ubyte.gz", 3)
    vy = load_idx(d + "/t10k-labels-idx1-ubyte.gz", 1)
    if a.limit and a.limit < len(ty):
        tx, ty = tx[:a.limit], ty[:a.limit]
    train_x = torch.from_numpy(prepare(tx))
    train_y = torch.from_numpy(ty.astype(np.int64))
    test_x = torch.from_numpy(prepare(vx))
    test_y = torch.from_numpy(vy.astype(np.int64))
    p, params = init_params(a.seed)
    init_digest = fnv1a(p.tobytes())
    net = LeNet5(p, params)
    opt = torch.optim.SGD(net.parameters(), lr=a.lr, momentum=a.momentum)
    count = len(train_y)
    epochs = []
    if not a.quiet:
        print("PyTorch %s, %d thread(s), %d training images, batch %d"
              % (torch.__version__, a.threads, count, a.batch))
        print("%5s %9s %9s %9s %9s %9s" % ("epoch", "loss", "train", "test", "seconds", "img/s"))
    for ep in range(a.epochs):
        order = shuffle(a.seed, ep, count)
        order_digest = fnv1a(np.asarray(order, dtype="<i8").tobytes())
        order_t = torch.tensor(order)
        # lenet5_epoch_lr: cosine decay per epoch, rounded to float as the C side uses it.
        lr = float(np.float32(float(np.float32(a.lr)) * 0.5 * (1.0 + math.cos(math.pi * ep / a.epochs))))
        for g in opt.param_groups:
            g["lr"] = lr
        net.train()
        loss_sum, right = 0.0, 0
        t0 = time.perf_counter()
        for at in range(0, count, a.batch):
            idx = order_t[at:at + a.batch]
            x, y = train_x[idx], train_y[idx]
            opt.zero_grad(set_to_none=True)
            logits = net(x)
            loss = F.cross_entropy(logits, y)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(idx)
            right += int((logits.argmax(1) == y).sum())
        seconds = time.perf_counter() - t0
        net.eval()
        with torch.no_grad():
            tl, tr = 0.0, 0
            for at in range(0, len(test_y), 1000):
                lg = net(test_x[at:at + 1000])
                tl += float(F.cross_entropy(lg, test_y[at:at + 1000], reduction="sum"))
                tr += int((lg.argmax(1) == test_y[at:at + 1000]).sum())
        e = {"epoch": ep + 1, "loss": loss_sum / count, "train_accuracy": right / count,
             "test_loss": tl / len(test_y), "test_accuracy": tr / len(test_y),
             "seconds": seconds, "images_per_second": count / seconds,
             "order_digest": order_digest}
        epochs.append(e)
        if not a.quiet:
            print("%5d %9.4f %9.4f %9.4f %9.2f %9.0f" % (e["epoch"], e["loss"], e["train_accuracy"],
                  e["test_accuracy"], seconds, e["images_per_second"]), flush=True)
    out = {"framework": "pytorch", "version": torch.__version__, "threads": a.threads,
           "train_images": count, "test_images": len(test_y), "batch": a.batch, "lr": a.lr,
           "momentum": a.momentum, "seed": a.seed, "init_digest": init_digest, "epochs": epochs,
           "test_accuracy": epochs[-1]["test_accuracy"],
           "seconds_per_epoch": sum(e["seconds"] for e in epochs) / len(epochs)}
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
