import importlib.util
import sys
from pathlib import Path

import pytest

from podsmith_core.models import ModelFacts

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks" / "memory"


def load_benchmark(name: str):
    """Import a module of benchmarks/memory by path (the folder is not a package)."""
    module_name = f"podsmith_memory_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, BENCHMARKS / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def cases():
    return load_benchmark("cases")


@pytest.fixture(scope="session")
def score():
    return load_benchmark("score")


@pytest.fixture
def facts(cases):
    def build(model: str) -> ModelFacts:
        return ModelFacts(repo_id=model, config=cases.MODEL_CONFIGS[model])

    return build
