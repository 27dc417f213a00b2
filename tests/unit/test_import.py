from __future__ import annotations

import subprocess
import sys


def test_import_does_not_import_heavy_modules() -> None:
    # What keeps `import medallion` fast (bench/import_time.py measures it): nothing heavy loads.
    code = (
        "import sys, medallion; "
        "print(sorted(m for m in ('pyspark', 'delta', 'py4j', 'yaml', 'pandas', 'pytest') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_import_works_without_pyspark_installed() -> None:
    # Make every pyspark/delta import fail, as on a machine without the [local] extra.
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('pyspark', 'delta', 'py4j'):\n"
        "            raise ImportError('blocked ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import medallion, medallion.testing\n"
        "with medallion.Pipeline('p') as p:\n"
        "    medallion.bronze_autoloader(name='b', path='/x')\n"
        "print(len(p.graph().order))\n"
        "try:\n"
        "    p.run(warehouse='/tmp/unused')\n"
        "except medallion.MissingDependencyError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    lines = out.stdout.strip().splitlines()
    assert lines[0] == "1"
    assert lines[1] == (
        'pyspark is required to run pipelines locally but is not installed. '
        'Install it with: pip install "medallion[local]"'
    )
