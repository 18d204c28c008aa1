"""Run a preset at several seeds, same thread count each time, and report each summary metric as mean ± std.

    python bench/seeds.py --preset demo --seeds 0 1 2 --threads 2

Writes `<out>/seeds_<preset>.csv` (one row per seed) and `<out>/seeds_<preset>.md` (mean ± std, the table the README
shows). Runs are sequential and each is a fresh `bitmar-train` process, so one run's state never leaks into the next.
"""
import argparse, json, os, statistics, subprocess, sys, time
from pathlib import Path

KEYS = ('i2t_R@1', 'i2t_R@5', 't2i_R@1', 't2i_R@5', 'token_accuracy', 'unigram_token_accuracy', 'perplexity')

def run(preset, seed, threads, runs, extra):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), HF_HUB_OFFLINE='1',
               WANDB_MODE=os.environ.get('WANDB_MODE', 'disabled'))
    name = f'{preset}-seed{seed}'
    cmd = ['bitmar-train', '--preset', preset, f'seed={seed}', f'name={name}', f'output_dir={runs}', 'logging.progress=false',
           '--overwrite', *extra]
    t0 = time.time()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    s = json.loads((Path(runs) / name / 'summary.json').read_text())
    return {'seed': seed, 'seconds': round(time.time() - t0, 1), **{k: s[k] for k in KEYS if k in s}}

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--preset', default='demo'); p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--threads', type=int, default=2); p.add_argument('--runs', default='runs/seeds')
    p.add_argument('--out', default='bench'); p.add_argument('overrides', nargs='*', help='config overrides for every run')
    a = p.parse_args(argv)
    rows = [run(a.preset, s, a.threads, a.runs, a.overrides) for s in a.seeds]
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    cols = list(rows[0])
    (out / f'seeds_{a.preset}.csv').write_text('\n'.join([','.join(cols)] + [','.join(str(r.get(c, '')) for c in cols) for r in rows]) + '\n')
    pct = lambda k: k != 'perplexity'
    lines = [f'{a.preset}: {len(rows)} seeds ({", ".join(map(str, a.seeds))}), {a.threads} CPU threads', '',
             '| metric | mean ± std | per seed |', '|---|---|---|']
    for k in [c for c in cols if c in KEYS]:
        v = [r[k] for r in rows]
        m, sd = statistics.mean(v), statistics.stdev(v) if len(v) > 1 else 0.0
        fmt = (lambda x: f'{100 * x:.1f}%') if pct(k) else (lambda x: f'{x:.2f}')
        lines.append(f'| {k} | {fmt(m)} ± {fmt(sd)} | {", ".join(map(fmt, v))} |')
    lines.append(f'| seconds per run | {statistics.mean(r["seconds"] for r in rows):.0f} | {", ".join(str(r["seconds"]) for r in rows)} |')
    (out / f'seeds_{a.preset}.md').write_text('\n'.join(lines) + '\n')
    print('\n'.join(lines))

if __name__ == '__main__': main()
