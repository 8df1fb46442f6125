"""Reading Google Benchmark JSON written by vconv-bench (stdlib only).

Shared by scripts/bench-report, scripts/compare and scripts/plot.  Where
repetitions were run, every number is the median (Google Benchmark's median
aggregate when present, else the median over the repetitions)."""
import json
import re
import statistics

NAME = re.compile(r'^(?P<net>\w+)\.(?P<layer>\w+)/(?P<impl>\w+)/(?P<tier>\w+)'
                  r'/n:(?P<n>\d+)/t:(?P<t>\d+)$')
UNIT = {'ns': 1e-9, 'us': 1e-6, 'ms': 1e-3, 's': 1.0}
COUNTERS = ('FLOPS', 'bytes_per_second', 'flop', 'bytes')


def load(path):
    """Returns (context, rows), rows: run name -> {'time': seconds per iteration,
    'label', counters...} or {'error': message}, in the order of the file."""
    with open(path) as f:
        doc = json.load(f)
    runs, medians, errors = {}, {}, {}
    for b in doc.get('benchmarks', []):
        name = b.get('run_name', b['name'])
        runs.setdefault(name, [])
        if b.get('error_occurred'):
            errors[name] = b.get('error_message', 'error')
        elif b.get('run_type') == 'aggregate':
            if b.get('aggregate_name') == 'median':
                medians[name] = b
        else:
            runs[name].append(b)
    rows = {}
    for name, its in runs.items():
        src = [medians[name]] if name in medians else its
        if not src:
            if name in errors:
                rows[name] = {'error': errors[name]}
            continue
        row = {'time': statistics.median(b['real_time'] * UNIT[b['time_unit']] for b in src),
               'label': src[0].get('label', '')}
        for key in COUNTERS:
            vals = [b[key] for b in src if key in b]
            if vals:
                row[key] = statistics.median(vals)
        rows[name] = row
    return doc.get('context', {}), rows


def parse(name):
    """'alexnet.conv3/direct/avx512/n:1/t:2' -> dict(net, layer, impl, tier, n, t); None
    for anything else (peak/..., gemm....)."""
    m = NAME.match(name)
    if not m or m['net'] == 'gemm':   # gemm.sq1024/... is a machine reference, not a layer
        return None
    d = m.groupdict()
    d['n'], d['t'] = int(d['n']), int(d['t'])
    return d


def fmt_time(s):
    if s < 1e-6:
        return f'{s * 1e9:.0f} ns'
    if s < 1e-3:
        return f'{s * 1e6:.1f} us'
    if s < 1:
        return f'{s * 1e3:.2f} ms'
    return f'{s:.2f} s'
