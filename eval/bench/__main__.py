"""`python -m eval.bench` runs the benchmark (eval/bench/run.py)."""

import sys

from eval.bench.run import main

sys.exit(main())
