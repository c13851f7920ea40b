"""``rlsuite align sft|reward|dpo|rloo|ppo|compare``: thin calls into the alignment library.

Every training subcommand takes ``--model`` (a local causal-LM folder; default: the embedded tiny
model), ``--data``, ``--config`` (YAML of the TRL config's keys, see ``configs/alignment/``),
``--set key=value`` overrides, ``--out`` and ``--resume``.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

METHODS = ("sft", "reward", "dpo", "rloo", "ppo")


def add_subcommands(subparsers: Any) -> None:
    p = subparsers.add_parser("align", help="RLHF (reward model, PPO, RLOO) and DPO with TRL on a local LLM")
    sub = p.add_subparsers(dest="align_command", metavar="METHOD")
    helps = {
        "sft": "supervised fine-tuning (TRL SFTTrainer)",
        "reward": "reward model (TRL RewardTrainer)",
        "dpo": "DPO (TRL DPOTrainer)",
        "rloo": "RLHF with RLOO against a reward model (TRL RLOOTrainer)",
        "ppo": "RLHF with PPO against a reward model (TRL 1.12 trl.experimental.ppo)",
    }
    for name in METHODS:
        q = sub.add_parser(name, help=helps[name])
        q.add_argument("--model", help="local causal-LM folder (default: the embedded tiny SFT'd model)")
        q.add_argument(
            "--data",
            help="preference pairs: JSONL or a datasets folder (default: the synthetic task)"
            if name != "sft"
            else "prompt/completion JSONL (default: the synthetic task)",
        )
        if name in ("rloo", "ppo"):
            q.add_argument(
                "--reward-model", required=True, help="reward-model folder (from `rlsuite align reward`)"
            )
        q.add_argument("--config", help="YAML of TRL config keys (see configs/alignment/)")
        q.add_argument("--set", nargs="*", metavar="KEY=VALUE", help="override config keys")
        q.add_argument("--out", help="output folder (default: runs/align-<method>)")
        q.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --out")
        q.set_defaults(func=_train)
    c = sub.add_parser("compare", help="RLHF vs DPO from one model and one preference set, with a report")
    c.add_argument("--model", help="local causal-LM folder (default: the embedded tiny model)")
    c.add_argument("--data", help="preference pairs, JSONL or datasets folder (default: the synthetic task)")
    c.add_argument("--skip-sft", action="store_true", help="the --model is already SFT'd")
    c.add_argument("--quick", action="store_true", help="small budget (a few minutes)")
    c.add_argument("--set", nargs="*", metavar="KEY=VALUE", help="override CompareConfig fields")
    c.add_argument("--out", default="runs/align-compare", help="report folder (rerun skips finished stages)")
    c.set_defaults(func=_compare)
    p.set_defaults(func=lambda _a: p.print_help() or 2)


def _prompts_and_pairs(
    args: argparse.Namespace, model: Path, pairs: list[dict[str, Any]] | None
) -> tuple[list[str], list[dict[str, Any]]]:
    from rlsuite.alignment.data import SentimentTask

    if pairs is not None:
        prompts = [p["prompt"] for p in pairs]
        unique = {json.dumps(p): p for p in prompts}  # conversational prompts are lists
        return list(unique.values()), pairs
    from rlsuite.alignment.evaluate import sample_pairs

    train, _ = SentimentTask().split_prompts()
    return train, (sample_pairs(model, train, 24) if args.align_command in ("reward", "dpo") else [])


def _train(args: argparse.Namespace) -> int:
    from rlsuite.alignment.data import SentimentTask
    from rlsuite.alignment.models import check_causal_lm, default_model_dir
    from rlsuite.common.config import parse_overrides

    method = args.align_command
    out = Path(args.out or f"runs/align-{method}")
    overrides = parse_overrides(args.set)
    if args.config and not Path(args.config).is_file():
        raise FileNotFoundError(f"{args.config}: config file not found")
    if args.model:
        check_causal_lm(args.model)
    if method == "sft":
        from rlsuite.alignment.sft import train_sft

        records = _load_sft_records(args.data) if args.data else SentimentTask().sft_dataset(2048, seed=0)
        model = Path(args.model) if args.model else default_model_dir().parent.parent / "base"
        metrics = train_sft(model, records, out, args.config, overrides, args.resume)
    else:
        from rlsuite.alignment.data import load_preferences

        given = load_preferences(args.data) if args.data else None  # checked before any model is built
        model = Path(args.model) if args.model else default_model_dir()
        prompts, pairs = _prompts_and_pairs(args, model, given)
        if method == "reward":
            from rlsuite.alignment.rlhf import train_reward

            metrics = train_reward(model, pairs, out, args.config, overrides, args.resume)
        elif method == "dpo":
            from rlsuite.alignment.dpo import train_dpo

            metrics = train_dpo(model, pairs, out, args.config, overrides, args.resume)
        elif method == "rloo":
            from rlsuite.alignment.rlhf import train_rloo

            metrics = train_rloo(model, prompts, out, args.reward_model, args.config, overrides, args.resume)
        else:
            from rlsuite.alignment.rlhf import train_ppo

            metrics = train_ppo(model, prompts, out, args.reward_model, args.config, overrides, args.resume)
    losses = [h["loss"] for h in metrics["log_history"] if "loss" in h]
    print(
        f"{method}: {metrics['global_steps']} steps in {metrics['wall_seconds']} s"
        + (f", loss {losses[0]:.4f} -> {losses[-1]:.4f}" if losses else "")
        + f"; model in {out / 'model'}"
    )
    return 0


def _load_sft_records(path: str) -> list[dict[str, Any]]:
    from rlsuite.common.errors import UsageError

    p = Path(path)
    if not p.is_file():
        raise UsageError(f"{p}: SFT data not found")
    records = []
    for lineno, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{p}:{lineno}: bad JSON ({exc.msg} at column {exc.colno})") from exc
        for key in ("prompt", "completion"):
            if not isinstance(obj, dict) or not isinstance(obj.get(key), str) or not obj[key].strip():
                raise UsageError(f"{p}:{lineno}: missing, empty or non-string field {key!r}")
        records.append({"prompt": obj["prompt"], "completion": obj["completion"]})
    if not records:
        raise UsageError(f"{p}: no records")
    return records


def _compare(args: argparse.Namespace) -> int:
    from rlsuite.alignment.compare import CompareConfig, run_compare
    from rlsuite.common.config import build_config, parse_overrides

    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    base = CompareConfig.quick() if args.quick else CompareConfig()
    import dataclasses

    values = {**dataclasses.asdict(base), **parse_overrides(args.set)}
    cfg = build_config(CompareConfig, values, "--set")
    results = run_compare(args.out, model=args.model, data=args.data, config=cfg, skip_sft=args.skip_sft)
    print(f"\n{'method':6} {'reward':>7} {'win':>5} {'KL':>6}")
    for name, row in results["methods"].items():
        print(f"{name:6} {row['reward']:7.2f} {row['win_rate_vs_sft']:5.2f} {row['kl_to_sft']:6.2f}")
    print(f"report: {Path(args.out) / 'report.md'}")
    return 0
