"""``rlsuite align compare``: RLHF (reward model + PPO, RLOO) against DPO, one model, one preference set.

Stages run in order into ``OUT/stages/<name>/``; a stage with its ``metrics.json`` and ``model/``
is finished and skipped on a rerun, so an interrupted compare picks up where it stopped. The
report (``results.json``, ``report.md``, ``frontier.png``) is written at the end, each file
atomically. A rerun with different settings in the same folder is refused.
"""

from __future__ import annotations

import dataclasses
import json
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rlsuite.common.errors import UsageError
from rlsuite.common.io import write_json, write_text


@dataclass
class CompareConfig:
    """Budgets and sweeps of the comparison (the defaults fit in 10 minutes on 2 CPU cores)."""

    seeds: int = field(default=3, metadata={"help": "seeds per frontier point"})
    dpo_betas: list[float] = field(
        default_factory=lambda: [0.03, 0.1, 0.3, 1.0],
        metadata={"help": "DPO beta values swept on the frontier"},
    )
    rlhf_kl_coefs: list[float] = field(
        default_factory=lambda: [0.01, 0.05, 0.5],
        metadata={"help": "RLHF (RLOO beta) KL coefficients swept on the frontier"},
    )
    ppo_on_frontier: bool = field(
        default=True, metadata={"help": "also sweep PPO's kl_coef (~5x RLOO's cost per point)"}
    )
    dpo_beta: float = field(default=0.1, metadata={"help": "DPO beta of the headline table"})
    kl_coef: float = field(default=0.05, metadata={"help": "PPO kl_coef and RLOO beta of the headline table"})
    pair_copies: int = field(default=32, metadata={"help": "rounds of two SFT samples per train prompt"})
    pair_rule: str = field(default="margin", metadata={"help": "margin or bradley-terry labelling"})
    heldout_fraction: float = field(default=0.1, metadata={"help": "pairs held out for accuracies"})
    eval_samples: int = field(default=16, metadata={"help": "samples per held-out prompt for reward/KL"})
    rm_epochs: int = field(default=3, metadata={"help": "reward-model epochs"})
    dpo_epochs: int = field(default=2, metadata={"help": "DPO epochs"})
    rloo_steps: int = field(default=30, metadata={"help": "RLOO optimizer steps"})
    ppo_episodes: int = field(default=384, metadata={"help": "PPO episodes (prompts sampled)"})
    sft_examples: int = field(default=2048, metadata={"help": "SFT examples when --model needs SFT"})

    @classmethod
    def quick(cls) -> CompareConfig:
        """A small budget for the tour and tests (about 2-3 minutes on 2 cores)."""
        return cls(
            seeds=1,
            ppo_on_frontier=False,
            dpo_betas=[0.1, 1.0],
            rlhf_kl_coefs=[0.05, 0.5],
            pair_copies=24,
            eval_samples=8,
            rm_epochs=3,
            dpo_epochs=2,
            rloo_steps=20,
            ppo_episodes=192,
            sft_examples=512,
        )


def _finished(stage: Path) -> bool:
    return (stage / "metrics.json").is_file() and (stage / "model" / "config.json").is_file()


class _Stages:
    """Runs named stages once; a rerun reads their saved measurements."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.metrics: dict[str, dict[str, Any]] = {}

    def run(self, name: str, fn: Any, *args: Any, **kwargs: Any) -> Path:
        stage = self.root / "stages" / name
        if _finished(stage):
            print(f"-- {name}: finished earlier, skipped", flush=True)
            metrics = json.loads((stage / "metrics.json").read_text())
        else:
            print(f"-- {name}", flush=True)
            metrics = fn(*args, output_dir=stage, resume=True, **kwargs)
        metrics = {k: v for k, v in metrics.items() if k != "log_history"}
        self.metrics[name] = metrics
        return stage / "model"

    def cached_json(self, name: str, fn: Any) -> Any:
        path = self.root / "stages" / name
        if path.is_file():
            return json.loads(path.read_text())
        value = fn()
        write_json(path, value)
        return value


def run_compare(
    out: str | Path,
    model: str | None = None,
    data: str | None = None,
    quick: bool = False,
    config: CompareConfig | None = None,
    skip_sft: bool = False,
) -> dict[str, Any]:
    """Run SFT (if needed), reward model, PPO, RLOO and DPO; write the report folder; return results.

    Args:
        out: the report folder (stages, ``results.json``, ``report.md``, ``frontier.png``).
        model: a local causal-LM folder; ``None`` uses the embedded tiny model (already SFT'd).
        data: preference pairs (JSONL or a ``datasets`` folder); ``None`` samples pairs on the
            synthetic task from the SFT policy, labelled by the gold reward.
        quick: the small budget (``CompareConfig.quick()``) unless ``config`` is given.
        config: budgets and sweeps.
        skip_sft: treat ``model`` as already SFT'd.
    """
    from rlsuite.alignment import data as D
    from rlsuite.alignment import evaluate as E
    from rlsuite.alignment.dpo import train_dpo
    from rlsuite.alignment.models import (
        RewardModelFunc,
        check_causal_lm,
        default_model_dir,
        load_reward_model,
    )
    from rlsuite.alignment.rlhf import train_ppo, train_reward, train_rloo
    from rlsuite.alignment.sft import train_sft

    cfg = config or (CompareConfig.quick() if quick else CompareConfig())
    root = Path(out).resolve()
    task = D.SentimentTask()
    user_pairs = D.load_preferences(data) if data else None  # validated before any training
    if user_pairs is not None and not all(isinstance(p["prompt"], str) for p in user_pairs):
        raise UsageError(
            f"{data}: compare needs standard (string) pairs; conversational pairs work with "
            "`rlsuite align dpo/reward`"
        )
    if model is not None:
        check_causal_lm(model)
    settings = {
        "model": str(Path(model).resolve()) if model else "embedded tiny Llama",
        "data": str(Path(data).resolve()) if data else "synthetic sentiment task",
        "skip_sft": skip_sft,
        "config": dataclasses.asdict(cfg),
    }
    root.mkdir(parents=True, exist_ok=True)
    settings_path = root / "settings.json"
    if settings_path.is_file():
        if json.loads(settings_path.read_text()) != json.loads(json.dumps(settings)):
            raise UsageError(f"{root}: holds a compare run with other settings; use a new --out folder")
    else:
        write_json(settings_path, settings)
    stages = _Stages(root)
    t_start = time.perf_counter()

    # 1. SFT policy (the reference of every method).
    if model is None:
        sft = default_model_dir()
        stages.metrics["sft"] = {"note": "embedded tiny model, SFT'd once and cached", "path": str(sft)}
    elif skip_sft:
        sft = Path(model).resolve()
        stages.metrics["sft"] = {"note": "given model used as the SFT policy", "path": str(sft)}
    else:
        if user_pairs is None:
            records = task.sft_dataset(cfg.sft_examples, seed=0)
        else:
            records = [{"prompt": p["prompt"], "completion": p["chosen"]} for p in user_pairs]
        sft = stages.run("sft", train_sft, model, records)

    # 2. Preference pairs and the held-out split.
    train_prompts, held_prompts = task.split_prompts()
    if user_pairs is None:
        pairs = stages.cached_json(
            "pairs.json",
            lambda: E.sample_pairs(sft, train_prompts, cfg.pair_copies, rule=cfg.pair_rule, seed=0),
        )
    else:
        pairs = user_pairs
    train_pairs, held_pairs = D.split_heldout(pairs, cfg.heldout_fraction, seed=0)
    if user_pairs is not None:
        train_prompts = sorted({p["prompt"] for p in train_pairs})
        held_prompts = sorted({p["prompt"] for p in held_pairs})

    # 3. Reward model, then the headline runs.
    rm = stages.run("reward", train_reward, sft, train_pairs, overrides={"num_train_epochs": cfg.rm_epochs})
    judge = None
    if user_pairs is not None:
        judge = RewardModelFunc(*load_reward_model(rm))
    rloo_cfg = {"max_steps": cfg.rloo_steps}
    ppo_cfg = {"total_episodes": cfg.ppo_episodes}
    dpo_cfg = {"num_train_epochs": cfg.dpo_epochs}
    runs: dict[str, Path] = {
        "PPO": stages.run(
            "ppo",
            train_ppo,
            sft,
            train_prompts,
            reward_model_path=rm,
            overrides={**ppo_cfg, "kl_coef": cfg.kl_coef},
        ),
        "RLOO": stages.run(
            "rloo", train_rloo, sft, train_prompts, reward=rm, overrides={**rloo_cfg, "beta": cfg.kl_coef}
        ),
        "DPO": stages.run("dpo", train_dpo, sft, train_pairs, overrides={**dpo_cfg, "beta": cfg.dpo_beta}),
    }

    # 4. Measurements on held-out prompts and pairs.
    def evaluate(name: str, path: Path) -> dict[str, Any]:
        return stages.cached_json(
            f"eval_{name}.json",
            lambda: E.evaluate_policy(path, sft, held_prompts, cfg.eval_samples, judge=judge),
        )

    sft_eval = evaluate("sft", sft)
    table: dict[str, dict[str, Any]] = {"SFT": {**sft_eval, "stage_cost": stages.metrics.get("sft", {})}}
    rm_acc = stages.cached_json("eval_rm_accuracy.json", lambda: E.reward_model_accuracy(rm, held_pairs))
    for name, path in runs.items():
        row = evaluate(name.lower(), path)
        cost_stages = ["reward", name.lower()] if name in ("PPO", "RLOO") else [name.lower()]
        row["cost"] = _total_cost([stages.metrics[s] for s in cost_stages])
        row["cost_stages"] = cost_stages
        if name == "DPO":
            row["dpo_implicit_reward_accuracy"] = stages.cached_json(
                "eval_dpo_accuracy.json", lambda p=path: E.implicit_reward_accuracy(p, sft, held_pairs)
            )
        else:
            row["reward_model_accuracy"] = rm_acc
        table[name] = row

    # 5. The reward-vs-KL frontier: DPO beta and RLHF KL coefficient, several seeds.
    frontier: dict[str, list[dict[str, Any]]] = {"DPO": [], "RLOO": []}
    if cfg.ppo_on_frontier:
        frontier["PPO"] = []
    for method, values in (
        ("DPO", cfg.dpo_betas),
        ("RLOO", cfg.rlhf_kl_coefs),
        ("PPO", cfg.rlhf_kl_coefs if cfg.ppo_on_frontier else []),
    ):
        for value in values:
            points = []
            for seed in range(cfg.seeds):
                name = f"{method.lower()}_k{value:g}_s{seed}"
                headline = cfg.dpo_beta if method == "DPO" else cfg.kl_coef
                if seed == 0 and value == headline:  # the headline run is this point: reuse it
                    points.append(evaluate(method.lower(), runs[method]))
                    continue
                if method == "DPO":
                    path = stages.run(
                        name, train_dpo, sft, train_pairs, overrides={**dpo_cfg, "beta": value, "seed": seed}
                    )
                elif method == "RLOO":
                    path = stages.run(
                        name,
                        train_rloo,
                        sft,
                        train_prompts,
                        reward=rm,
                        overrides={**rloo_cfg, "beta": value, "seed": seed},
                    )
                else:
                    path = stages.run(
                        name,
                        train_ppo,
                        sft,
                        train_prompts,
                        reward_model_path=rm,
                        overrides={**ppo_cfg, "kl_coef": value, "seed": seed},
                    )
                points.append(evaluate(name, path))
            rewards = [p["reward"] for p in points]
            kls = [p["kl_to_sft"] for p in points]
            frontier[method].append(
                {
                    "kl_strength": value,
                    "seeds": cfg.seeds,
                    "reward": float(np.mean(rewards)),
                    "reward_err": _sem(rewards),
                    "kl": float(np.mean(kls)),
                    "kl_err": _sem(kls),
                    "per_seed": [{"reward": r, "kl": k} for r, k in zip(rewards, kls, strict=True)],
                }
            )

    results = {
        "settings": settings,
        "reward_kind": "gold reward (#positive - #negative words)"
        if judge is None
        else "trained reward model as judge (the data has no gold reward)",
        "kl_estimator": "Monte Carlo: mean over samples y~pi(.|x) at temperature 1 of sum_t log pi(y_t|.) - "
        "log pi_sft(y_t|.), completion tokens incl. eos; error = standard error",
        "error_bars": "frontier: standard error across seeds (0 with one seed); "
        "table: standard error across samples",
        "methods": table,
        "frontier": frontier,
        "stage_costs": stages.metrics,
        "heldout": {"prompts": len(held_prompts), "pairs": len(held_pairs), "train_pairs": len(train_pairs)},
        "total_wall_seconds_this_run": round(time.perf_counter() - t_start, 1),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
    }
    results["dpo_vs_rlhf_cost"] = _cost_ratio(table)
    _plot_frontier(frontier, sft_eval, root / "frontier.png", results["reward_kind"])
    write_json(root / "results.json", results)
    write_text(root / "report.md", _report_md(results))
    return results


def _sem(x: list[float]) -> float:
    return float(np.std(x, ddof=1) / np.sqrt(len(x))) if len(x) > 1 else 0.0


def _total_cost(metrics: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "wall_seconds": round(sum(m.get("wall_seconds", 0) for m in metrics), 2),
        "peak_memory_mb": max((m.get("peak_memory_mb", 0) for m in metrics), default=0),
        "tokens": int(sum(m.get("tokens") or 0 for m in metrics)),
    }


def _cost_ratio(table: dict[str, dict[str, Any]]) -> dict[str, Any]:
    dpo = table["DPO"]["cost"]["wall_seconds"]
    out = {}
    for name in ("PPO", "RLOO"):
        rl = table[name]["cost"]["wall_seconds"]
        out[f"DPO/{name} wall time"] = round(dpo / rl, 3) if rl else None
        out[f"{name} reward"] = round(table[name]["reward"], 3)
    out["DPO reward"] = round(table["DPO"]["reward"], 3)
    out["note"] = "headline settings; the rewards differ, see benchmarks/alignment_cost.py for matched reward"
    return out


def _plot_frontier(
    frontier: dict[str, list[dict[str, Any]]], sft: dict[str, Any], path: Path, reward_kind: str
) -> None:
    from rlsuite.common.plotting import pyplot, save_figure

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    colors = {"DPO": "tab:orange", "RLOO": "tab:blue", "PPO": "tab:green"}
    for method, pts in frontier.items():
        if not pts:
            continue
        pts = sorted(pts, key=lambda p: p["kl"])
        ax.errorbar(
            [p["kl"] for p in pts],
            [p["reward"] for p in pts],
            xerr=[p["kl_err"] for p in pts],
            yerr=[p["reward_err"] for p in pts],
            fmt="o-",
            capsize=3,
            color=colors[method],
            label=f"{method} ({'beta' if method == 'DPO' else 'KL coef'} sweep)",
        )
        for p in pts:
            ax.annotate(
                f"{p['kl_strength']:g}",
                (p["kl"], p["reward"]),
                fontsize=7,
                xytext=(3, 3),
                textcoords="offset points",
            )
    ax.errorbar([0.0], [sft["reward"]], yerr=[sft["reward_sem"]], fmt="s", color="k", label="SFT", capsize=3)
    ax.set_xlabel("KL(pi || pi_SFT), sequence level, Monte Carlo")
    ax.set_ylabel("gold reward" if reward_kind.startswith("gold") else "reward-model score (judge)")
    ax.set_title("reward vs KL frontier (error bars: SE over seeds)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, path)


def _report_md(r: dict[str, Any]) -> str:
    lines = [
        "# rlsuite align compare\n",
        f"Model: {r['settings']['model']}  ",
        f"Data: {r['settings']['data']}  ",
        f"Reward: {r['reward_kind']}  ",
        f"KL: {r['kl_estimator']}\n",
        "| method | reward | win rate vs SFT | KL to SFT | RM acc. | DPO implicit acc. "
        "| wall s | peak MB | tokens |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in r["methods"].items():
        cost = row.get("cost", {})
        lines.append(
            f"| {name} | {row['reward']:.2f} ± {row['reward_sem']:.2f} | {row['win_rate_vs_sft']:.2f} | "
            f"{row['kl_to_sft']:.2f} ± {row['kl_sem']:.2f} | {_fmt(row.get('reward_model_accuracy'))} | "
            f"{_fmt(row.get('dpo_implicit_reward_accuracy'))} | {_fmt(cost.get('wall_seconds'))} | "
            f"{_fmt(cost.get('peak_memory_mb'))} | {_fmt(cost.get('tokens'))} |"
        )
    lines += [
        "",
        "RLHF costs include the reward model's training. Peak memory: "
        + str(
            next(
                (m.get("peak_memory_kind") for m in r["stage_costs"].values() if "peak_memory_kind" in m), ""
            )
        ),
        "",
        "## Frontier\n",
        "![frontier](frontier.png)\n",
        "| method | KL strength | seeds | reward | KL |",
        "|---|---|---|---|---|",
    ]
    for method, pts in r["frontier"].items():
        for p in pts:
            lines.append(
                f"| {method} | {p['kl_strength']:g} | {p['seeds']} "
                f"| {p['reward']:.2f} ± {p['reward_err']:.2f} "
                f"| {p['kl']:.2f} ± {p['kl_err']:.2f} |"
            )
    lines += [
        "",
        f"Held-out: {r['heldout']}",
        "",
        "## Settings\n",
        "```json",
        json.dumps(r["settings"], indent=2),
        "```",
        "",
    ]
    return "\n".join(lines)


def _fmt(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.2f}"
    return str(x)


def tour_section(out: Path, quick: bool) -> dict[str, Any]:
    """The tour's alignment section: ``align compare`` on the embedded model; headline numbers.

    Args:
        out: the tour folder; the report goes to ``out/alignment`` (``out/alignment-quick``).
        quick: run ``align compare --quick`` instead of the default budget.
    """
    folder = Path(out) / ("alignment-quick" if quick else "alignment")  # a compare folder keeps one setting
    results = run_compare(folder, quick=quick)
    return {
        "report": str(folder / "report.md"),
        "reward_kind": results["reward_kind"],
        "methods": {
            name: {
                "reward": round(row["reward"], 2),
                "win_rate_vs_sft": round(row["win_rate_vs_sft"], 2),
                "kl_to_sft": round(row["kl_to_sft"], 2),
            }
            for name, row in results["methods"].items()
        },
        "reward_model_accuracy": round(results["methods"]["PPO"]["reward_model_accuracy"], 3),
        "dpo_implicit_reward_accuracy": round(results["methods"]["DPO"]["dpo_implicit_reward_accuracy"], 3),
    }
