"""Translate image files with an export; the same command as the console script ``enot-translate``.

python scripts/translate.py --model runs/colored_mnist/export --input photos/ --output out/
python scripts/translate.py --help
"""

import sys

from app.translate_files import main

if __name__ == "__main__":
    sys.exit(main())
