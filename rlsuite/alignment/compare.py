"""``align compare``: alignment methods side by side on one model and one preference set.

The methods, and the signal each trains on (the report states it, since it decides how to read the
comparison):

| key | method | trainer | signal |
|---|---|---|---|
| dpo | DPO | ``DPOTrainer``, ``loss_type=sigmoid`` | preference pairs, offline |
| ipo | IPO | ``DPOTrainer``, ``loss_type=ipo`` | preference pairs, offline |
| rdpo | robust DPO | ``DPOTrainer``, ``loss_type=robust`` | preference pairs, offline (assumed label noise) |
| online_dpo | Online DPO | ``trl.experimental.online_dpo`` | reward model, online |
| rloo | RLOO | ``RLOOTrainer`` | reward model, online |
| grpo | GRPO | ``GRPOTrainer`` | reward model, online |
| grpo_gold | GRPO (gold) | ``GRPOTrainer`` | gold reward, online (verifiable) |
| ppo | PPO | TRL 1.12 ``trl.experimental.ppo`` | reward model, online |

Stages: SFT (unless the model is already SFT'd), preference pairs sampled from it (on the synthetic
task), the reward model and the SFT baseline's held-out samples run first, in this process. Then
every training run (a method at a KL strength and a seed: the table's headline runs and the
frontier's points) is independent of the others: with ``workers > 1`` they run as Ray tasks
(:mod:`rlsuite.alignment.workers`), else one after another. A run trains, then measures itself on the
held-out prompts; runs are deterministic given their seed, so the numbers do not depend on how many
workers ran them.

Everything lives in ``OUT/stages/``: a training folder with ``metrics.json`` (written last) is
finished, one with ``eval.json`` too is measured; both are skipped when the comparison runs again,
an unfinished one resumes from its newest valid checkpoint. A folder holding a comparison with
other settings is refused. The caller holds the folder (:class:`~rlsuite.common.io.OutputDir`) and
writes the report from the returned results.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import platform
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from rlsuite.common.config import Config, config_error, option
from rlsuite.common.errors import DataError, UsageError
from rlsuite.common.io import write_json

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Method:
    """One row of the comparison: its label, the TRL method, the loss, its KL knob and its signal."""

    label: str
    trainer: str
    signal: str
    strength: str  # the name of its KL knob
    loss_type: str | None = None
    reward: str | None = None  # "rm" or "gold" for online methods


METHODS: dict[str, Method] = {
    "dpo": Method("DPO", "dpo", "preference pairs, offline", "beta", loss_type="sigmoid"),
    "ipo": Method("IPO", "dpo", "preference pairs, offline", "beta", loss_type="ipo"),
    "rdpo": Method("rDPO", "dpo", "preference pairs, offline (robust to label flips)", "beta", loss_type="robust"),
    "online_dpo": Method("Online DPO", "online_dpo", "reward model, online", "beta", reward="rm"),
    "rloo": Method("RLOO", "rloo", "reward model, online", "KL coef", reward="rm"),
    "grpo": Method("GRPO", "grpo", "reward model, online", "KL coef", reward="rm"),
    "grpo_gold": Method("GRPO (gold)", "grpo", "gold reward, online (verifiable)", "KL coef", reward="gold"),
    "ppo": Method("PPO", "ppo", "reward model, online", "KL coef", reward="rm"),
}
OFFLINE = ("dpo", "ipo", "rdpo")


@dataclass
class CompareConfig(Config):
    """Methods, budgets and sweeps of the comparison (the defaults fit in 10 minutes on 2 CPU cores)."""

    methods: list[str] = option(
        default_factory=lambda: list(METHODS), help="methods in the table (" + ", ".join(METHODS) + ")"
    )
    frontier: list[str] = option(
        default_factory=lambda: ["dpo", "ipo", "rdpo", "rloo", "grpo", "grpo_gold", "ppo"],
        help="methods swept over their KL strength on the reward/KL frontier",
    )
    seed: int = option(0, help="the first seed: runs use seed, seed+1, ...; the table's runs, pairs and split use it",
                       ge=0)
    seeds: int = option(3, help="seeds per frontier point (error bars need 2 or more)", ge=1)
    dpo_betas: list[float] = option(
        default_factory=lambda: [0.03, 0.1, 0.3, 1.0], help="beta values of the DPO family on the frontier", gt=0.0
    )
    kl_coefs: list[float] = option(
        default_factory=lambda: [0.01, 0.05, 0.5], help="KL coefficients of RLOO, GRPO and PPO on the frontier", ge=0.0
    )
    dpo_beta: float = option(0.1, help="beta of the DPO family (and Online DPO) in the table", gt=0.0)
    kl_coef: float = option(0.05, help="KL coefficient of RLOO, GRPO and PPO in the table", ge=0.0)
    robust_label_smoothing: float = option(0.1, help="rDPO's assumed label-flip rate", gt=0.0, lt=0.5)
    pair_copies: int = option(32, help="rounds of two SFT samples per train prompt (synthetic task)", ge=1)
    pair_rule: Literal["margin", "bradley-terry"] = option("margin", help="how sampled pairs are labelled")
    heldout_fraction: float = option(0.1, help="pairs held out for the accuracies", gt=0.0, lt=1.0)
    eval_samples: int = option(16, help="samples per held-out prompt for reward, win rate and KL", ge=1)
    max_new_tokens: int = option(12, help="longest sampled completion, in tokens", ge=1)
    rm_epochs: int = option(3, help="reward-model epochs", ge=1)
    dpo_epochs: int = option(2, help="epochs of the DPO family", ge=1)
    online_steps: int = option(30, help="optimizer steps of RLOO, GRPO and Online DPO", ge=1)
    ppo_episodes: int = option(384, help="PPO episodes (prompts sampled)", ge=1)
    sft_examples: int = option(2048, help="SFT examples when the model needs SFT (synthetic task)", ge=1)
    chat: bool | None = option(
        None, help="prompts as conversations through the chat template (default: when the tokenizer has one)"
    )
    torch_threads: int = option(0, help="torch threads per process (0: OMP_NUM_THREADS, else 1)", ge=0)

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("methods", "frontier"):
            keys = getattr(self, name)
            unknown = [k for k in keys if k not in METHODS]
            if unknown:
                raise config_error(self, name, f"{unknown[0]!r} is not one of {', '.join(METHODS)}")
            if len(set(keys)) != len(keys):
                raise config_error(self, name, "lists a method twice")
        if not self.methods:
            raise config_error(self, "methods", "needs at least one method")

    @classmethod
    def quick(cls) -> CompareConfig:
        """A small budget for ``tour --quick`` and the tests (a few minutes on 2 cores)."""
        return cls(
            seeds=1,
            frontier=["dpo", "ipo", "rdpo", "rloo", "grpo", "grpo_gold"],
            dpo_betas=[0.1, 1.0],
            kl_coefs=[0.05, 0.5],
            pair_copies=24,
            eval_samples=8,
            rm_epochs=3,
            dpo_epochs=2,
            online_steps=20,
            ppo_episodes=192,
            sft_examples=512,
        )

    def seed_list(self) -> list[int]:
        """The seeds of a frontier point."""
        return list(range(self.seed, self.seed + self.seeds))

    def headline(self, key: str) -> float:
        """The KL strength of a method's row in the table."""
        return self.dpo_beta if METHODS[key].strength == "beta" else self.kl_coef

    def sweep(self, key: str) -> list[float]:
        """The KL strengths of a method's frontier curve."""
        return list(self.dpo_betas if METHODS[key].strength == "beta" else self.kl_coefs)


def run_name(key: str, value: float, seed: int) -> str:
    """A run's stage folder name: ``<method>_k<strength>_s<seed>``."""
    return f"{key}_k{value:g}_s{seed}"


@dataclass(frozen=True)
class Run:
    """One training run of the comparison and what it needs (sent to a worker as it is)."""

    name: str
    key: str
    value: float
    seed: int
    root: str
    sft: str
    reward_model: str | None
    judge: str  # "gold" or a reward-model folder
    threads: int
    config: dict[str, Any]


def plan(config: CompareConfig) -> list[tuple[str, str, float, int]]:
    """Every training run: ``(name, method, strength, seed)``, the table's first, without duplicates."""
    runs: dict[str, tuple[str, str, float, int]] = {}
    for key in config.methods:
        value = config.headline(key)
        runs.setdefault(run_name(key, value, config.seed), (run_name(key, value, config.seed), key, value, config.seed))
    for key in config.frontier:
        for value in config.sweep(key):
            for seed in config.seed_list():
                name = run_name(key, value, seed)
                runs.setdefault(name, (name, key, value, seed))
    return list(runs.values())


def stage_names(config: CompareConfig, needs_sft: bool) -> list[str]:
    """The job's stages in order (for a progress display)."""
    first = (["sft"] if needs_sft else []) + ["pairs", "reward", "sft baseline"]
    return first + [name for name, *_ in plan(config)]


class Listener(Protocol):
    """Told when a stage starts and finishes (the application's progress display)."""

    def stage(self, name: str) -> None: ...

    def done(self, name: str, result: str) -> None: ...


class _Quiet:
    def stage(self, name: str) -> None:
        pass

    def done(self, name: str, result: str) -> None:
        log.info("%-24s %s", name, result)


def where_here(kind: str) -> dict[str, Any]:
    """Where a stage ran: this process's host, pid and device."""
    import torch

    return {
        "where": kind,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "torch_threads": torch.get_num_threads(),
    }


# ---------------------------------------------------------------------------------------------
# One training run: train, then measure (runs in this process or in a Ray worker)


def trainer_config(run: Run, stage: Path) -> Any:
    """The TRL config of a run (rlsuite's defaults, the comparison's budget, the run's strength and seed)."""
    from rlsuite.alignment import configs as C

    cfg = CompareConfig(**run.config)
    method = METHODS[run.key]
    common = {"output_dir": str(stage), "seed": run.seed, "torch_threads": run.threads}
    online = {"max_steps": cfg.online_steps, **common}
    if method.trainer == "dpo":
        extra = {"label_smoothing": cfg.robust_label_smoothing} if method.loss_type == "robust" else {}
        return C.DPOConfig(**common, num_train_epochs=cfg.dpo_epochs, beta=run.value, loss_type=[method.loss_type],
                           **extra)
    if method.trainer == "rloo":
        return C.RLOOConfig(**online, beta=run.value, max_completion_length=cfg.max_new_tokens)
    if method.trainer == "grpo":
        return C.GRPOConfig(**online, beta=run.value, max_completion_length=cfg.max_new_tokens)
    if method.trainer == "online_dpo":
        return C.OnlineDPOConfig(**online, beta=[run.value], max_new_tokens=cfg.max_new_tokens)
    return C.PPOConfig(**common, total_episodes=cfg.ppo_episodes, kl_coef=run.value, response_length=cfg.max_new_tokens)


def _judge(spec: str) -> Callable[..., list[float]] | None:
    if spec == "gold":
        return None
    from rlsuite.alignment.models import RewardModelFunc

    return RewardModelFunc.load(spec)


def execute(run: Run, where: str = "main process") -> dict[str, Any]:
    """Train one run (or take its finished training), then measure it; both cached in its stage folder."""
    from rlsuite.alignment.evaluate import evaluate_policy, implicit_reward_accuracy
    from rlsuite.alignment.training import read_metrics, train

    root = Path(run.root)
    stage = root / "stages" / run.name
    done = stage / "eval.json"
    if done.is_file() and read_metrics(stage) is not None:
        saved = json.loads(done.read_text())
        return {**saved, "skipped": True}
    inputs = json.loads((root / "stages" / "inputs.json").read_text())
    method = METHODS[run.key]
    config = trainer_config(run, stage)
    metrics = read_metrics(stage)
    if metrics is None:
        data = inputs["train_pairs"] if method.trainer == "dpo" else inputs["train_prompts"]
        reward = None if method.reward is None else ("gold" if method.reward == "gold" else run.reward_model)
        metrics = train(config, run.sft, data, reward=reward, resume=True)
    cfg = CompareConfig(**run.config)
    reference = json.loads((root / "stages" / "reference.json").read_text())
    result = evaluate_policy(
        stage / "model", run.sft, inputs["held_prompts"], cfg.eval_samples, judge=_judge(run.judge),
        max_new_tokens=cfg.max_new_tokens, reference=reference,
    )
    if method.trainer == "dpo" and run.seed == cfg.seed and run.value == cfg.headline(run.key):  # a row of the table
        accuracy = implicit_reward_accuracy(stage / "model", run.sft, inputs["held_pairs"])
        result["dpo_implicit_reward_accuracy"] = accuracy
    result["cost"] = _cost(metrics)
    result["ran_on"] = where_here(where)
    write_json(done, result)
    return result


def _cost(metrics: dict[str, Any]) -> dict[str, Any]:
    return {
        "wall_seconds": metrics.get("wall_seconds"),
        "peak_memory_mb": metrics.get("peak_memory_mb"),
        "peak_memory_kind": metrics.get("peak_memory_kind"),
        "tokens": metrics.get("tokens"),
        "global_steps": metrics.get("global_steps"),
    }


def summary_line(result: dict[str, Any]) -> str:
    """One line for a finished run: reward, KL, win rate, cost, where."""
    kind = "gold" if result.get("reward_kind") == "gold" else "judge"
    cost = result.get("cost", {})
    where = result.get("ran_on", {}).get("where", "")
    tail = "finished earlier" if result.get("skipped") else f"{cost.get('wall_seconds', 0):.1f} s, {where}"
    return (f"{kind} {result['reward']:+.2f}  KL {result['kl_to_sft']:.2f}  "
            f"win {result['win_rate_vs_sft']:.2f}  ({tail})")


# ---------------------------------------------------------------------------------------------
# The comparison


def run_compare(
    out: str | os.PathLike[str],
    config: CompareConfig | None = None,
    model: str | os.PathLike[str] | None = None,
    data: str | os.PathLike[str] | None = None,
    skip_sft: bool = False,
    workers: int = 1,
    ray_address: str | None = None,
    max_unknown_rate: float = 0.05,
    listener: Listener | None = None,
) -> dict[str, Any]:
    """Run the comparison into ``out`` (held by the caller) and return its results.

    Args:
        out: the comparison's folder (``stages/`` and ``settings.json`` are written here).
        config: methods, budgets and sweeps (default :class:`CompareConfig`).
        model: a local causal-LM folder; ``None`` uses the embedded tiny model (already SFT'd).
        data: preference pairs (JSONL or a ``datasets`` folder, plain or conversational); ``None``
            samples pairs on the synthetic task from the SFT policy, labelled by the gold reward.
        skip_sft: treat ``model`` as already SFT'd.
        workers: training runs at once (``> 1``: as Ray tasks).
        ray_address: an existing Ray cluster (``None``: a local instance when ``workers > 1``).
        max_unknown_rate: refuse data whose tokens are more than this fraction unknown to the tokenizer.
        listener: told when each stage starts and finishes.

    Returns:
        Settings, the table (one row per method, with its signal, cost and where it ran), the
        frontier and every stage's cost.
    """
    from rlsuite.alignment import data as D
    from rlsuite.alignment import evaluate as E
    from rlsuite.alignment.configs import RewardConfig, SFTConfig
    from rlsuite.alignment.training import read_metrics, train_reward, train_sft
    from rlsuite.common.device import choose_threads, set_torch_threads

    cfg = config or CompareConfig()
    listener = listener or _Quiet()
    root = Path(out).resolve()
    task = D.SentimentTask()
    user_pairs, conversational = check_inputs(cfg, model, data, skip_sft, max_unknown_rate)
    settings = {
        "model": str(Path(model).resolve()) if model else "embedded tiny Llama",
        "data": str(Path(data).resolve()) if data else "synthetic sentiment task",
        "skip_sft": skip_sft,
        "conversational": conversational,
        "config": {k: v for k, v in dataclasses.asdict(cfg).items() if k != "torch_threads"},
    }
    (root / "stages").mkdir(parents=True, exist_ok=True)
    settings_path = root / "settings.json"
    if settings_path.is_file():
        if json.loads(settings_path.read_text()) != json.loads(json.dumps(settings)):
            raise UsageError(f"{root}: holds a comparison with other settings; use a new --out folder (or --overwrite)")
    else:
        write_json(settings_path, settings)
    t_start = time.perf_counter()
    threads = choose_threads(cfg.torch_threads, workers)
    here = where_here("main process")
    stage_costs: dict[str, Any] = {}

    def stage_dir(name: str) -> Path:
        return root / "stages" / name

    # ---- 1. the SFT policy (the reference of every method)
    if model is None:
        from rlsuite.alignment.embedded import default_model_dir

        sft = default_model_dir()
        stage_costs["sft"] = {"note": "embedded tiny model, SFT'd once and cached", "path": str(sft)}
    elif skip_sft:
        sft = Path(model).resolve()
        stage_costs["sft"] = {"note": "the given model is the SFT policy", "path": str(sft)}
    else:
        listener.stage("sft")
        if user_pairs is None:
            records = task.sft_dataset(cfg.sft_examples, seed=cfg.seed, conversational=conversational)
        else:
            records = [{"prompt": p["prompt"], "completion": p["chosen"]} for p in user_pairs]
        sft_config = SFTConfig(output_dir=str(stage_dir("sft")), seed=cfg.seed, torch_threads=threads)
        metrics = read_metrics(stage_dir("sft")) or train_sft(model, records, sft_config, resume=True)
        stage_costs["sft"] = {**_cost(metrics), "ran_on": here}
        sft = stage_dir("sft") / "model"
        listener.done("sft", f"{metrics['global_steps']} steps ({metrics['wall_seconds']:.1f} s)")
    set_torch_threads(threads)  # this process's threads for what follows (pairs, reward model, evaluations)

    # ---- 2. preference pairs and the held-out split
    listener.stage("pairs")
    train_prompts, held_prompts = task.split_prompts()
    if conversational and user_pairs is None:
        train_prompts = [D.user_turn(p) for p in train_prompts]
        held_prompts = [D.user_turn(p) for p in held_prompts]
    inputs_path = stage_dir("inputs.json")
    if inputs_path.is_file():
        inputs = json.loads(inputs_path.read_text())
    else:
        pairs = user_pairs or E.sample_pairs(sft, train_prompts, cfg.pair_copies, rule=cfg.pair_rule, seed=cfg.seed,
                                             max_new_tokens=cfg.max_new_tokens)
        train_pairs, held_pairs = D.split_heldout(pairs, cfg.heldout_fraction, seed=cfg.seed)
        if user_pairs is not None:
            train_prompts = _unique([p["prompt"] for p in train_pairs])
            held_prompts = _unique([p["prompt"] for p in held_pairs])
        inputs = {"train_pairs": train_pairs, "held_pairs": held_pairs,
                  "train_prompts": train_prompts, "held_prompts": held_prompts}
        write_json(inputs_path, inputs)
    listener.done("pairs", f"{len(inputs['train_pairs'])} train, {len(inputs['held_pairs'])} held-out pairs")

    # ---- 3. the reward model (every online method's signal; the judge when there is no gold reward)
    listener.stage("reward")
    rm_config = RewardConfig(output_dir=str(stage_dir("reward")), num_train_epochs=cfg.rm_epochs, seed=cfg.seed,
                             torch_threads=threads)
    metrics = read_metrics(stage_dir("reward")) or train_reward(sft, inputs["train_pairs"], rm_config, resume=True)
    stage_costs["reward"] = {**_cost(metrics), "ran_on": here}
    rm = stage_dir("reward") / "model"
    rm_acc = _cached(stage_dir("eval_rm_accuracy.json"), lambda: E.reward_model_accuracy(rm, inputs["held_pairs"]))
    listener.done("reward", f"held-out accuracy {rm_acc:.2f} ({metrics['wall_seconds']:.1f} s)")
    judge = "gold" if user_pairs is None else str(rm)

    # ---- 4. the SFT baseline's samples (every win rate is against them)
    listener.stage("sft baseline")
    reference = _cached(
        stage_dir("reference.json"),
        lambda: E.reference_samples(sft, inputs["held_prompts"], cfg.eval_samples, _judge(judge),
                                    max_new_tokens=cfg.max_new_tokens),
    )
    sft_row = _cached(
        stage_dir("eval_sft.json"),
        lambda: E.evaluate_policy(sft, sft, inputs["held_prompts"], cfg.eval_samples, judge=_judge(judge),
                                  max_new_tokens=cfg.max_new_tokens, reference=reference),
    )
    listener.done("sft baseline", f"reward {sft_row['reward']:+.2f} over {sft_row['n_samples']} samples")

    # ---- 5. the training runs: independent, here or on Ray workers
    runs = [
        Run(name, key, value, seed, str(root), str(sft), str(rm), judge, threads, dataclasses.asdict(cfg))
        for name, key, value, seed in plan(cfg)
    ]
    if workers > 1 or ray_address:
        from rlsuite.alignment.workers import run_on_ray

        def report(name: str, result: dict[str, Any]) -> None:
            listener.stage(name)
            listener.done(name, summary_line(result))

        results = run_on_ray(execute, runs, workers, ray_address, on_result=report,
                             log_file=lambda run: str(root / "stages" / run.name / "log.txt"))
    else:
        results = {}
        for run in runs:
            listener.stage(run.name)
            results[run.name] = execute(run)
            listener.done(run.name, summary_line(results[run.name]))

    # ---- 6. the table and the frontier
    table: dict[str, dict[str, Any]] = {"SFT": {**sft_row, "signal": "-", "method": "sft"}}
    for key in cfg.methods:
        method = METHODS[key]
        row = dict(results[run_name(key, cfg.headline(key), cfg.seed)])
        row.pop("skipped", None)
        row.update({"method": key, "signal": method.signal, "kl_strength": cfg.headline(key),
                    "strength_name": method.strength})
        if method.reward == "rm":
            row["reward_model_accuracy"] = rm_acc
            row["cost_includes_reward_model"] = True
            row["cost"] = _total_cost([row["cost"], stage_costs["reward"]])
        table[method.label] = row
    frontier: dict[str, list[dict[str, Any]]] = {}
    for key in cfg.frontier:
        points = []
        for value in cfg.sweep(key):
            rs = [results[run_name(key, value, s)] for s in cfg.seed_list()]
            rewards, kls = [r["reward"] for r in rs], [r["kl_to_sft"] for r in rs]
            points.append({
                "kl_strength": value, "seeds": cfg.seeds,
                "reward": float(np.mean(rewards)), "reward_err": _sem(rewards),
                "kl": float(np.mean(kls)), "kl_err": _sem(kls),
                "per_seed": [{"reward": r, "kl": k} for r, k in zip(rewards, kls, strict=True)],
            })
        frontier[METHODS[key].label] = points
    for name, r in results.items():
        stage_costs[name] = {**r.get("cost", {}), "ran_on": r.get("ran_on")}
    return {
        "settings": settings,
        "reward_kind": "gold reward (#positive - #negative words)"
        if judge == "gold"
        else "trained reward model as judge (the data has no gold reward)",
        "kl_estimator": "Monte Carlo: mean over samples y~pi(.|x) at temperature 1 of sum_t log pi(y_t|.) - "
        "log pi_sft(y_t|.), completion tokens incl. eos; error = standard error",
        "error_bars": (f"frontier: standard error across {cfg.seeds} seeds; " if cfg.seeds > 1 else
                       "frontier: one seed, no error bars; ") + "table: standard error across samples",
        "methods": table,
        "frontier": frontier,
        "stage_costs": stage_costs,
        "heldout": {"prompts": len(inputs["held_prompts"]), "pairs": len(inputs["held_pairs"]),
                    "train_pairs": len(inputs["train_pairs"])},
        "workers": {"count": workers, "ray_address": ray_address, "torch_threads_per_process": threads},
        "total_wall_seconds_this_run": round(time.perf_counter() - t_start, 1),
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
    }


def check_inputs(
    config: CompareConfig,
    model: str | os.PathLike[str] | None = None,
    data: str | os.PathLike[str] | None = None,
    skip_sft: bool = False,
    max_unknown_rate: float = 0.05,
) -> tuple[list[dict[str, Any]] | None, bool]:
    """Check what the user gave, before any work or output: the data file, the model folder, the
    tokenizer's coverage of the data and its chat template. Returns ``(pairs or None, conversational)``.

    Raises:
        DataError, ModelFolderError, UsageError: naming the file, folder or setting.
    """
    from rlsuite.alignment import data as D
    from rlsuite.alignment.models import check_causal_lm, check_data_for, check_vocabulary, load_tokenizer

    user_pairs = D.load_preferences(data) if data else None
    if model is None and skip_sft:
        raise UsageError("--skip_sft needs --model (the embedded model is SFT'd already)")
    if model is not None:
        check_causal_lm(model)
    tok = load_tokenizer(model) if model is not None else None
    has_template = tok is not None and bool(getattr(tok, "chat_template", None))
    if user_pairs is not None:
        conversational = any(isinstance(p["prompt"], list) for p in user_pairs)
    else:
        conversational = config.chat if config.chat is not None else has_template
    if conversational and not has_template:
        where = model if model is not None else "the embedded model"
        raise DataError(f"{where}: conversations need a tokenizer with a chat template, and this one has none")
    if user_pairs is not None and tok is not None:
        check_data_for(tok, user_pairs, str(data))
        check_vocabulary(tok, user_pairs, str(data), max_unknown_rate)
    return user_pairs, conversational


def _unique(prompts: list[Any]) -> list[Any]:
    return list({json.dumps(p, sort_keys=True): p for p in prompts}.values())


def _cached(path: Path, fn: Callable[[], Any]) -> Any:
    if path.is_file():
        return json.loads(path.read_text())
    value = fn()
    write_json(path, value)
    return value


def _sem(x: list[float]) -> float:
    return float(np.std(x, ddof=1) / np.sqrt(len(x))) if len(x) > 1 else 0.0


def _total_cost(costs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "wall_seconds": round(sum(c.get("wall_seconds") or 0 for c in costs), 2),
        "peak_memory_mb": max((c.get("peak_memory_mb") or 0 for c in costs), default=0),
        "peak_memory_kind": next((c.get("peak_memory_kind") for c in costs if c.get("peak_memory_kind")), None),
        "tokens": int(sum(c.get("tokens") or 0 for c in costs)),
    }
