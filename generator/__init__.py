"""Deterministic generator of realistic `cart-schedule-instance/1` documents.

A document is a function of `(size, seed, scenario)` only: one `random.Random(seed)` makes
every choice and nothing iterates over a set, so the output is byte-identical across runs and
machines. Numbers follow the domain brief (CART-DOMAIN.md sections 1.5-1.7 and 8).

The sections of a document are drawn in a fixed order, one module each:

- `sizes`: the sizes and scenarios, and the recipe of the bundled Ghent week
- `calendar`: horizon start dates, public holidays, clock changes, local-time arithmetic
- `context`: the shared state every section reads (horizon, shifts, the random stream)
- `site`: shifts, the night crew, starts per day
- `products`: the lentiviral and the device process, and their timings
- `suites`: suites, the product mix they carry, planned downtime
- `staff`: operators, skills, rota, hands for the running batches
- `qc`: QC lab days, closed dates, assay capacity
- `hospitals`: referring hospitals, courier times, apheresis chairs
- `patients`: patients, their windows and last week's plan
- `in_progress`: batches running at the horizon start, and the broken commitments
- `build`: the builder that runs the sections in order, and the entry points
"""

from __future__ import annotations

from generator.build import generate_instance, ghent_week, write_instance
from generator.sizes import SCENARIOS, SIZES, SizeSpec

__all__ = ["SCENARIOS", "SIZES", "SizeSpec", "generate_instance", "ghent_week", "write_instance"]
