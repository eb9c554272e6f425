"""Understanding benchmark: how long reading one customer message takes, and training at start-up.

    /work/venv/bin/python tests/benchmarks/intents.py [--config FILE] [--messages FILE.tsv]
                                                      [--rounds 5]

Messages are the held-apart labelled set (`tests/intents/held_apart.tsv`), in random order. Each
round builds a fresh reader (its word caches empty) and reads every message once: the first
round is cold, later ones warm. Timed with `perf_counter_ns`, garbage collector on:

- `keywords`: the keyword matcher alone (`IntentMatcher.match`), what the bot did before the
  model: the baseline, interleaved message by message with the reader;
- `read`: `Reader.read`, the keyword matcher and the model weighed together (what the bot does).
Training is timed on the config's examples from scratch (no cache), against loading the config.
Ends with one `aim` line per target of issue 14: a read ≤ 1 ms p99, training ≤ 2 s.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

from bot.classifier import IntentModel
from bot.evaluation import parse_labelled
from bot.intents import IntentMatcher
from bot.understanding import Reader, config_examples, out_of_scope_examples
from handoff.config_loader import load_config

ROOT = Path(__file__).resolve().parents[2]
AIM_READ_P99_MS = 1.0
AIM_TRAINING_S = 2.0


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "config" / "frontdoor.yaml"))
    parser.add_argument("--messages", default=str(ROOT / "tests" / "intents" / "held_apart.tsv"))
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    started = time.perf_counter()
    config = load_config(args.config)
    loading = time.perf_counter() - started
    examples = [*config_examples(config.intents), *out_of_scope_examples()]
    trainings = []
    for _ in range(3):
        started = time.perf_counter()
        IntentModel(examples)
        trainings.append(time.perf_counter() - started)
    training = statistics.median(trainings)

    texts = [c.text for c in parse_labelled(Path(args.messages).read_text(), config.intents)]
    random.Random(14).shuffle(texts)
    keyword_ms: dict[str, list[float]] = {"cold": [], "warm": []}
    read_ms: dict[str, list[float]] = {"cold": [], "warm": []}
    for round_ in range(args.rounds):
        matcher = IntentMatcher(config.intents)
        reader = Reader(config.intents, config.bot.understanding)
        reader.matcher = IntentMatcher(config.intents)  # its caches empty too
        phase = "cold" if round_ == 0 else "warm"
        for text in texts:
            started_ns = time.perf_counter_ns()
            matcher.match(text)
            keyword_ms[phase].append((time.perf_counter_ns() - started_ns) / 1e6)
            started_ns = time.perf_counter_ns()
            reader.read(text)
            read_ms[phase].append((time.perf_counter_ns() - started_ns) / 1e6)

    print(f"{len(texts)} messages × {args.rounds} rounds; {len(examples)} training examples")
    print(f"{'':24}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'p99 ×keywords':>15}")
    for phase in ("cold", "warm"):
        base = keyword_ms[phase]
        for name, samples in ((f"keywords ({phase})", base), (f"read ({phase})", read_ms[phase])):
            ratio = percentile(samples, 0.99) / percentile(base, 0.99)
            print(
                f"{name:24}{percentile(samples, 0.5):>9.3f}{percentile(samples, 0.99):>9.3f}"
                f"{max(samples):>9.3f}{ratio:>15.1f}"
            )
    print(
        f"loading the config {loading:.3f} s; training {training:.3f} s (median of 3)"
        f" = ×{training / loading:.1f} the loading"
    )
    p99 = percentile(read_ms["cold"] + read_ms["warm"], 0.99)
    print(
        f"aim read p99 ≤ {AIM_READ_P99_MS:g} ms: {p99:.3f} ms "
        + ("ok" if p99 <= AIM_READ_P99_MS else "MISSED")
    )
    print(
        f"aim training ≤ {AIM_TRAINING_S:g} s: {training:.3f} s "
        + ("ok" if training <= AIM_TRAINING_S else "MISSED")
    )


if __name__ == "__main__":
    main()
