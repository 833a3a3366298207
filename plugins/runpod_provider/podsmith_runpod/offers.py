"""GPU offers: live prices and stock from Runpod's GraphQL API, or the bundled catalogue without a key."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from podsmith_core.models import GpuOffer

from podsmith_runpod.client import RunpodClient

GPU_COUNTS = (1, 2, 4, 6, 8)

_PRICE_FIELDS = "securePrice communityPrice secureSpotPrice communitySpotPrice"
_LOWEST_FIELDS = "stockStatus uninterruptablePrice minimumBidPrice"


def offers_query(cloud_type: str) -> str:
    """Build one query for every GPU type with prices, and stock per GPU count through field aliases.

    The SDK's `get_gpu` leaves out `stockStatus`, which is null where a count is not offered.
    """
    cloud_filter = {"SECURE": ", secureCloud: true", "COMMUNITY": ", secureCloud: false"}.get(cloud_type, "")
    per_count = " ".join(
        f"count{n}: lowestPrice(input: {{gpuCount: {n}{cloud_filter}}}) {{ {_LOWEST_FIELDS} }}" for n in GPU_COUNTS
    )
    return (
        "query PodsmithGpuOffers { gpuTypes { id displayName memoryInGb maxGpuCount secureCloud communityCloud "
        f"{_PRICE_FIELDS} {per_count} }} }}"
    )


def _positive(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and value > 0 else None


def list_price(gpu: dict[str, Any], cloud_type: str) -> float | None:
    """Return the on-demand price per GPU-hour of a GPU type for the cloud type, or None if not offered."""
    secure = _positive(gpu.get("securePrice")) if gpu.get("secureCloud", True) else None
    community = _positive(gpu.get("communityPrice")) if gpu.get("communityCloud", True) else None
    if cloud_type == "SECURE":
        return secure
    if cloud_type == "COMMUNITY":
        return community
    prices = [price for price in (secure, community) if price is not None]
    return min(prices) if prices else None


StockByCount = dict[tuple[str, int], str]


def live_offers(client: RunpodClient, cloud_type: str) -> tuple[list[GpuOffer], StockByCount]:
    """Return one offer per GPU type for the cloud type, and the stock status per (GPU type, count).

    An offer lists the counts Runpod reports in stock and carries the stock of its smallest count; a
    type with no count in stock keeps every count and stock None, so the ranking can report why it was skipped.
    """
    data = client.query("GPU type query", offers_query(cloud_type))
    offers: list[GpuOffer] = []
    stock_by_count: StockByCount = {}
    for gpu in data.get("gpuTypes") or []:
        offer = _offer_for_type(gpu, cloud_type, stock_by_count)
        if offer is not None:
            offers.append(offer)
    return offers, stock_by_count


def _offer_for_type(gpu: dict[str, Any], cloud_type: str, stock_by_count: StockByCount) -> GpuOffer | None:
    max_count = int(gpu.get("maxGpuCount") or max(GPU_COUNTS))
    counts = [count for count in GPU_COUNTS if count <= max_count]
    prices: dict[int, float] = {}
    for count in counts:
        lowest = gpu.get(f"count{count}") or {}
        if lowest.get("stockStatus") is None:
            continue
        stock_by_count[(gpu["id"], count)] = lowest["stockStatus"]
        # NOTE: uninterruptablePrice is read as a price per GPU-hour, as Runpod's console shows it.
        price = _positive(lowest.get("uninterruptablePrice")) or list_price(gpu, cloud_type)
        if price is not None:
            prices[count] = price

    base_price = list_price(gpu, cloud_type)
    if base_price is None and not prices:
        return None
    in_stock = sorted(prices)
    return GpuOffer(
        gpu_type_id=gpu["id"],
        display_name=gpu.get("displayName") or gpu["id"],
        memory_gb=float(gpu.get("memoryInGb") or 0),
        cloud_type=cloud_type,
        price_per_gpu_hour=prices[in_stock[0]] if in_stock else base_price,
        stock=stock_by_count[(gpu["id"], in_stock[0])] if in_stock else None,
        max_count=max_count,
        counts=in_stock or counts,
        source="live",
    )


def load_catalogue() -> dict[str, Any]:
    text = resources.files("podsmith_runpod").joinpath("catalogue.json").read_text(encoding="utf-8")
    return json.loads(text)


def catalogue_offers(cloud_type: str) -> list[GpuOffer]:
    """Return offers from the bundled catalogue: reference prices, no stock information."""
    catalogue = load_catalogue()
    offers = []
    for gpu in catalogue["gpus"]:
        fields = {"securePrice": gpu["secure_price"], "communityPrice": gpu["community_price"]}
        price = list_price(fields, cloud_type)
        if price is None:
            continue
        offers.append(
            GpuOffer(
                gpu_type_id=gpu["id"],
                display_name=gpu["display_name"],
                memory_gb=float(gpu["memory_gb"]),
                cloud_type=cloud_type,
                price_per_gpu_hour=price,
                stock=None,
                max_count=max(GPU_COUNTS),
                counts=list(GPU_COUNTS),
                source="catalogue",
                price_date=catalogue["price_date"],
            )
        )
    return offers
