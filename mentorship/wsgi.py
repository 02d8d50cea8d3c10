"""The WSGI application gunicorn serves (deploy/gunicorn.conf.py says how)."""

import os

# One BLAS thread per process: web processes run many requests side by side, each scoring with
# NumPy, and per-core BLAS threads in every one of them would fight over the cores. Set before
# django.setup() imports NumPy; the environment still wins.
for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

from django.core.wsgi import get_wsgi_application  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mentorship.settings")

application = get_wsgi_application()
