"""The collector is tuned while serving: young objects of requests in flight are not
promoted into full collections that stop the loop for hundreds of milliseconds."""

import gc

from fastapi.testclient import TestClient

from app.main import GC_THRESHOLDS, create_app
from tests.conftest import make_settings


def test_serving_sets_the_collectors_thresholds(sqlite_url: str) -> None:
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)  # Python's defaults
    try:
        with TestClient(create_app(make_settings(sqlite_url))) as client:
            assert client.get("/healthz").status_code == 200
            assert gc.get_threshold() == GC_THRESHOLDS
        assert GC_THRESHOLDS[0] >= 10_000  # far above the default's 700
    finally:
        gc.set_threshold(*before)
