"""GPU selection: live offers with stock per GPU count, or the bundled catalogue without a key."""

from __future__ import annotations

import pytest

from emulators.runpod import RunpodEmulator
from podsmith_core.settings import Settings
from podsmith_runpod.offers import catalogue_offers, live_offers, load_catalogue
from podsmith_runpod.client import RunpodClient
from runpod_test_support import fixed_estimator


def test_live_offers_stock_per_count(runpod_emulator: RunpodEmulator, make_settings):
    runpod_emulator.set_stock("NVIDIA L40S", None, counts=(1, 4, 6, 8))
    runpod_emulator.set_stock("NVIDIA L40S", "Low", counts=(2,))
    runpod_emulator.set_stock("NVIDIA H200", None)

    offers, stock = live_offers(RunpodClient(make_settings()), "ALL")

    by_id = {offer.gpu_type_id: offer for offer in offers}
    assert by_id["NVIDIA L40S"].counts == [2]
    assert by_id["NVIDIA L40S"].stock == "Low"
    assert by_id["NVIDIA L40S"].price_per_gpu_hour == 0.79
    assert by_id["NVIDIA L40S"].memory_gb == 48
    assert by_id["NVIDIA L40S"].source == "live"
    assert by_id["NVIDIA L4"].counts == [1, 2, 4]
    assert by_id["NVIDIA A100-SXM4-80GB"].counts == [1, 2, 4, 6, 8]
    assert by_id["NVIDIA H200"].stock is None
    assert stock[("NVIDIA L40S", 2)] == "Low"
    assert ("NVIDIA L40S", 1) not in stock
    assert [request.operations for request in runpod_emulator.requests] == [["gpuTypes"]]
    assert "stockStatus" in runpod_emulator.requests[0].body


def test_select_gpu_stock_of_count(runpod_emulator: RunpodEmulator, provider, spec, make_settings):
    runpod_emulator.set_stock("NVIDIA A100-SXM4-80GB", "Low", counts=(2,))
    runpod_emulator.set_stock("NVIDIA H200", None)

    candidates = provider.select_gpu(spec=spec, estimator=fixed_estimator(70), settings=make_settings())

    a100 = next(c for c in candidates if c.gpu_type_id == "NVIDIA A100-SXM4-80GB")
    h200 = next(c for c in candidates if c.gpu_type_id == "NVIDIA H200")
    assert (a100.gpu_count, a100.stock, a100.fits) == (1, "High", True)
    assert h200.fits is False
    assert "not offered now" in h200.reason

    two_gpus = spec.model_copy(update={"gpu_count": 2})
    candidates = provider.select_gpu(spec=two_gpus, estimator=fixed_estimator(70), settings=make_settings())
    a100 = next(c for c in candidates if c.gpu_type_id == "NVIDIA A100-SXM4-80GB")
    assert (a100.gpu_count, a100.stock) == (2, "Low")


@pytest.mark.parametrize(
    ("cloud_type", "l40s_price", "has_b200"),
    [("SECURE", 0.86, True), ("COMMUNITY", 0.79, False), ("ALL", 0.79, True)],
)
def test_live_offers_cloud_type(runpod_emulator: RunpodEmulator, make_settings, cloud_type, l40s_price, has_b200):
    offers, _ = live_offers(RunpodClient(make_settings()), cloud_type)

    ids = {offer.gpu_type_id for offer in offers}
    l40s = next(offer for offer in offers if offer.gpu_type_id == "NVIDIA L40S")
    assert l40s.price_per_gpu_hour == l40s_price
    assert l40s.cloud_type == cloud_type
    assert ("NVIDIA B200" in ids) is has_b200


def test_select_gpu_live(runpod_emulator: RunpodEmulator, provider, spec, make_settings):
    candidates = provider.select_gpu(spec=spec, estimator=fixed_estimator(60), settings=make_settings())

    assert candidates
    assert all(c.source == "live" for c in candidates)
    single_gpu = {c.gpu_type_id for c in candidates if c.gpu_count == 1 and c.fits}
    assert "NVIDIA L40S" not in single_gpu
    assert "NVIDIA A100-SXM4-80GB" in single_gpu
    assert all(c.needed_bytes <= c.usable_bytes for c in candidates if c.fits)


def test_select_gpu_type_and_count(runpod_emulator: RunpodEmulator, provider, spec, make_settings):
    spec = spec.model_copy(update={"gpu_type": "NVIDIA H200", "gpu_count": 2})

    candidates = provider.select_gpu(spec=spec, estimator=fixed_estimator(20), settings=make_settings())

    assert [(c.gpu_type_id, c.gpu_count) for c in candidates if c.fits] == [("NVIDIA H200", 2)]
    assert candidates[0].price_per_hour == pytest.approx(2 * 3.59)


def test_select_gpu_catalogue(runpod_emulator: RunpodEmulator, provider, spec, client_key, tmp_path):
    settings = Settings.load(environ={"SSH_PUBLIC_KEY": client_key.public_key}, project_dir=tmp_path)

    candidates = provider.select_gpu(spec=spec, estimator=fixed_estimator(20), settings=settings)

    assert candidates
    assert {c.source for c in candidates} == {"catalogue"}
    assert runpod_emulator.requests == []


def test_catalogue_offers_dated():
    catalogue = load_catalogue()
    offers = catalogue_offers("SECURE")

    assert catalogue["price_date"]
    assert {offer.price_date for offer in offers} == {catalogue["price_date"]}
    assert {offer.source for offer in offers} == {"catalogue"}
    memory = {offer.gpu_type_id: offer.memory_gb for offer in offers}
    assert memory["NVIDIA H200"] == 141
    assert memory["NVIDIA H100 NVL"] == 94
    assert memory["NVIDIA L40S"] == 48
    assert "NVIDIA B200" not in {offer.gpu_type_id for offer in catalogue_offers("COMMUNITY")}
