"""ImageTextParquet against the common pandas approach (pandas.read_parquet of the whole file, then PIL per row).

Both decode and transform every image of the same parquet file (10 row groups), each in a fresh process, alternating,
so both see the same machine state. Reports images/s and peak resident-memory growth, and their ratios.
Run: python bench/data_bench.py [--rows-per-group 500] [--groups 10] [--rounds 3]
"""
import argparse, io, json, subprocess, sys, tempfile, textwrap
from pathlib import Path
import numpy as np

def make_file(path, groups, rows, side=256):
    import pyarrow as pa, pyarrow.parquet as pq
    from PIL import Image
    rng = np.random.default_rng(0)
    def jpeg(k):  # smooth noise: compresses like a photo (~20-40 KB at 256 px)
        small = rng.integers(0, 255, (side // 8, side // 8, 3), dtype=np.uint8)
        buf = io.BytesIO(); Image.fromarray(small).resize((side, side), Image.BILINEAR).save(buf, 'JPEG', quality=90)
        return buf.getvalue()
    pool = [jpeg(k) for k in range(64)]
    with pq.ParquetWriter(path, pa.schema([('image_bytes', pa.binary()), ('caption', pa.string()), ('sample_id', pa.string())])) as w:
        for g in range(groups):
            ids = range(g * rows, (g + 1) * rows)
            w.write_table(pa.table({'image_bytes': [pool[i % 64] + i.to_bytes(4, 'little') for i in ids],
                                    'caption': [f'caption {i}' for i in ids], 'sample_id': [str(i) for i in ids]}), row_group_size=rows)

PROBE = textwrap.dedent('''
    import io, json, resource, sys, time
    from PIL import Image
    from bitmar_kit.data import ImageTextParquet, image_transforms
    import pandas as pd, pyarrow.parquet as pq, torch
    torch.set_num_threads(1)                                # as in a DataLoader worker; steadier on a shared machine
    path, mode = sys.argv[1], sys.argv[2]
    tfm = image_transforms(224)
    def rss_peak_mb(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tfm(Image.new('RGB', (256, 256)))                       # warm up the transform; readers start cold in both
    pq.ParquetFile(path).metadata
    base = rss_peak_mb(); t0 = time.perf_counter(); n = 0
    if mode == 'kit':
        for s in ImageTextParquet(path, transform=tfm): n += 1
    else:   # pandas: the whole file into pandas, PIL per row
        df = pd.read_parquet(path)
        for i in range(len(df)):
            row = df.iloc[i]
            img = Image.open(io.BytesIO(row['image_bytes'])).convert('RGB'); x = tfm(img); n += 1
    dt = time.perf_counter() - t0
    print(json.dumps({'images': n, 'images_per_s': n / dt, 'peak_growth_mb': rss_peak_mb() - base}))
''')

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--rows-per-group', type=int, default=500); ap.add_argument('--groups', type=int, default=10)
    ap.add_argument('--rounds', type=int, default=3)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / 'bench.parquet'; make_file(path, a.groups, a.rows_per_group)
        import pyarrow.parquet as pq
        rg_mb = pq.ParquetFile(path).metadata.row_group(0).total_byte_size / 2**20
        print(f'file: {path.stat().st_size / 2**20:.1f} MB, {a.groups} row groups of {a.rows_per_group} images ({rg_mb:.1f} MB each)')
        res = {'kit': [], 'pandas': []}
        for _ in range(a.rounds):
            for mode in ('pandas', 'kit'):
                out = subprocess.run([sys.executable, '-c', PROBE, str(path), mode], capture_output=True, text=True, check=True)
                res[mode].append(json.loads(out.stdout))
    best = {m: {'images_per_s': max(r['images_per_s'] for r in rs), 'peak_growth_mb': min(r['peak_growth_mb'] for r in rs)} for m, rs in res.items()}
    for m, label in (('pandas', 'pandas whole file + PIL'), ('kit', 'ImageTextParquet')):
        print(f"{label:34s} {best[m]['images_per_s']:8.1f} images/s   peak RSS growth {best[m]['peak_growth_mb']:7.1f} MB")
    print(f"ratio kit/pandas: speed {best['kit']['images_per_s'] / best['pandas']['images_per_s']:.2f}x, "
          f"peak memory {best['kit']['peak_growth_mb'] / best['pandas']['peak_growth_mb']:.2f}x")

if __name__ == '__main__': main()
