"""GPU memory estimation and GPU ranking: see `estimator.estimate_memory` and `ranking.rank_candidates`."""
