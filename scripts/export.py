"""Write an export as ONNX, parity proven; the same command as the console script ``enot-export``.

python scripts/export.py runs/colored_mnist/export --format onnx
python scripts/export.py --help
"""

import sys

from app.onnx_export import main

if __name__ == "__main__":
    sys.exit(main())
