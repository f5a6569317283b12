"""Peak memory of checking and re-encoding one large upload (``server/images.py:process``).

    .venv/bin/python bench/image_memory.py              # a 40-megapixel PNG and JPEG
    .venv/bin/python bench/image_memory.py --megapixels 20

Each image is made in a child process, then processed in a fresh child process whose peak
resident memory (``ru_maxrss``) over its baseline after imports is the figure: Pillow
allocates outside Python's allocator, so ``tracemalloc`` would not see it. Bounded: two
images, a few seconds each.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

MAKE = """
import sys
from PIL import Image
w, h, fmt, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
image = Image.radial_gradient("L").resize((w, h)).convert("RGB")
image.save(path, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
"""

MEASURE = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[2])
from server import images
data = open(sys.argv[1], "rb").read()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.monotonic()
out = images.process(data, content_type=None, filename=sys.argv[1], max_pixels=10**9)
print(json.dumps({
    "peak_mb": round((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024, 1),
    "seconds": round(time.monotonic() - started, 2),
    "original": [out.original.width, out.original.height],
}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--megapixels", type=float, default=40.0)
    args = parser.parse_args()
    height = int((args.megapixels * 1_000_000 * 3 / 4) ** 0.5)
    width = int(args.megapixels * 1_000_000 / height)
    print(f"{width} x {height} ({width * height / 1e6:.1f} MP)")
    print("| format | file KB | peak MB over baseline | seconds |\n|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for fmt, ext in (("PNG", "png"), ("JPEG", "jpg")):
            path = Path(tmp) / f"big.{ext}"
            subprocess.run([sys.executable, "-c", MAKE, str(width), str(height), fmt, str(path)],
                           check=True)  # fmt: skip
            out = subprocess.run([sys.executable, "-c", MEASURE, str(path), str(ROOT)],
                                 check=True, capture_output=True, text=True)  # fmt: skip
            result = json.loads(out.stdout)
            kb = path.stat().st_size // 1024
            print(f"| {fmt} | {kb:,} | {result['peak_mb']:,} | {result['seconds']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
