import os

import pytest

FULL = os.environ.get("BENCH_SIZE") == "full"


@pytest.fixture
def size():
    """Work per benchmark round: full under `make bench`, tiny under `make test`."""
    return lambda full, tiny: full if FULL else tiny
