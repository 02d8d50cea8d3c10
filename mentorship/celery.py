"""The Celery app. With REDIS_URL unset, tasks run eagerly: development needs no broker."""

import os

# One BLAS thread per process. A worker's processes (its concurrency, one per core by default)
# cover the cores; BLAS threads on top in every process would fight them (a spread cohort run
# scores a block per process). Set before anything imports NumPy: this module is imported first
# by every process (mentorship/__init__.py). The environment still wins.
for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

from celery import Celery  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mentorship.settings")

app = Celery("mentorship")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
