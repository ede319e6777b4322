"""Which gates fire, in which dimensions: for each shipped bank, every gate's effect with everything else
at its best, and the share of random answer sets in which failing the gate (rather than passing it at
its best) lowers its dimension's level.

    python benchmarks/instrument_audit.py [--samples 20000]
"""

from __future__ import annotations

import argparse
import time

from bot.engine.audit import gate_effects, sampled_gate_firing
from bot.engine.catalog import BankCatalog


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20_000)
    args = parser.parse_args()
    for bank in BankCatalog.from_directory().banks:
        started = time.perf_counter()
        shares = sampled_gate_firing(bank, args.samples)
        elapsed = time.perf_counter() - started
        print(f"{bank.id} {bank.version}: {len(shares)} gates, {args.samples} answer sets, {elapsed:.1f} s")
        for effect in gate_effects(bank):
            print(
                f"  {effect.question_id:<22} {effect.dimension_id:<8} L{effect.gate_level}  "
                f"all else best: {effect.level_passing} -> {effect.level_failing}  "
                f"lowers the level in {shares[effect.question_id].changes_level:6.1%} of random answer sets, "
                f"by the gate rule in {shares[effect.question_id].by_gate_rule:6.1%}"
            )


if __name__ == "__main__":
    main()
