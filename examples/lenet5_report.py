#!/usr/bin/python3
"""Merges lenet5-train's and lenet5_torch.py's JSON, prints them side by side
with the issue's targets, writes the merged JSON and the loss/accuracy plot.

usage: lenet5_report.py VCONV_JSON TORCH_JSON|"" OUT_JSON OUT_PNG
"""
import datetime
import json
import sys


def main():
    vpath, tpath, out_json, out_png = sys.argv[1:5]
    v = json.load(open(vpath))
    t = json.load(open(tpath)) if tpath else None
    rows = []
    hdr = "| epoch | vconv loss | train | test | s | img/s |"
    sep = "|---|---|---|---|---|---|"
    if t:
        hdr += " PyTorch loss | train | test | s | img/s | speedup |"
        sep += "---|---|---|---|---|---|"
    print()
    print("LeNet-5 on %s, %s, tier %s, %d thread(s), batch %d, lr %g, momentum %g"
          % (v["data"], v["cpu"], v["tier"], v["threads"], v["batch"], v["lr"], v["momentum"]))
    print(hdr)
    print(sep)
    for i, e in enumerate(v["epochs"]):
        line = "| %d | %.4f | %.4f | %.4f | %.2f | %.0f |" % (
            e["epoch"], e["loss"], e["train_accuracy"], e["test_accuracy"], e["seconds"],
            e["images_per_second"])
        if t and i < len(t["epochs"]):
            f = t["epochs"][i]
            line += " %.4f | %.4f | %.4f | %.2f | %.0f | %.2fx |" % (
                f["loss"], f["train_accuracy"], f["test_accuracy"], f["seconds"],
                f["images_per_second"], f["seconds"] / e["seconds"])
        rows.append(line)
        print(line)
    print("vconv kernels: %s" % v["kernels"])
    merged = {"date": datetime.date.today().isoformat(), "cpu": v["cpu"], "tier": v["tier"],
              "threads": v["threads"], "test_accuracy": v["test_accuracy"],
              "seconds_per_epoch": v["seconds_per_epoch"], "epochs": v["epochs"], "vconv": v}
    if t:
        same = (t["init_digest"] == v["init_digest"] and
                all(a["order_digest"] == b["order_digest"] for a, b in zip(v["epochs"], t["epochs"])))
        speed = t["seconds_per_epoch"] / v["seconds_per_epoch"]
        gap = 100.0 * (v["test_accuracy"] - t["test_accuracy"])
        merged["pytorch"] = t
        merged["same_init_and_order"] = same
        merged["speedup"] = speed
        merged["targets"] = {
            "test_accuracy_at_least_0.89": v["test_accuracy"] >= 0.89,
            "within_1.5_points_of_pytorch": abs(gap) <= 1.5,
            "at_least_3x_faster_than_pytorch": speed >= 3.0,
        }
        print("initial weights and image order identical: %s" % ("yes" if same else "NO"))
        print("test accuracy: vconv %.4f, PyTorch %.4f (%+.2f points)"
              % (v["test_accuracy"], t["test_accuracy"], gap))
        print("seconds per epoch: vconv %.2f, PyTorch %.2f: %.2fx"
              % (v["seconds_per_epoch"], t["seconds_per_epoch"], speed))
        for k, ok in merged["targets"].items():
            print("  %-34s %s" % (k, "met" if ok else "NOT met"))
    with open(out_json, "w") as f:
        json.dump(merged, f, indent=2)
    print("wrote %s" % out_json)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no plot")
        return
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for name, d, style in (("vconv", v, "-o"), ("PyTorch", t, "--s")):
        if not d:
            continue
        ep = [e["epoch"] for e in d["epochs"]]
        ax1.plot(ep, [e["loss"] for e in d["epochs"]], style, label=name + " train loss")
        ax1.plot(ep, [e["test_loss"] for e in d["epochs"]], style, alpha=0.5, label=name + " test loss")
        ax2.plot(ep, [e["train_accuracy"] for e in d["epochs"]], style, label=name + " train")
        ax2.plot(ep, [e["test_accuracy"] for e in d["epochs"]], style, alpha=0.5, label=name + " test")
    ax1.set_xlabel("epoch"); ax1.set_ylabel("cross-entropy"); ax1.legend(); ax1.grid(alpha=0.3)
    ax2.set_xlabel("epoch"); ax2.set_ylabel("accuracy"); ax2.legend(); ax2.grid(alpha=0.3)
    fig.suptitle("LeNet-5, Fashion-MNIST: %s, %s, %d thread(s)" % (v["cpu"], v["tier"], v["threads"]))
    fig.tight_layout()
    fig.savefig(out_png, dpi=110)
    print("wrote %s" % out_png)


if __name__ == "__main__":
    main()
