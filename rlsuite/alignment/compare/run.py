"""``align compare``'s run: the shared stages (SFT, pairs, reward model, SFT baseline), every training
run of the plan (here or on Ray workers), and the results (table and frontier) assembled from them."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import platform
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from rlsuite.alignment.compare.plan import CompareConfig, Run, plan, row, run_name, trainer_config
from rlsuite.alignment.compare.report import summary_line
from rlsuite.common.errors import DataError, UsageError
from rlsuite.common.io import write_json

log = logging.getLogger(__name__)


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


def _judge(spec: str, where: Any = None) -> Callable[..., list[float]] | None:
    """The judge of the rewards: ``None`` for the gold reward, else the reward model, at ``where``
    (default: :func:`~rlsuite.alignment.models.placement`, where the training runs)."""
    if spec == "gold":
        return None
    from rlsuite.alignment.models import RewardModelFunc, placement

    return RewardModelFunc.load(spec, where or placement())


def _pairwise(spec: str | None, where: Any = None) -> Any:
    if spec is None:
        return None
    from rlsuite.alignment.judge import load_judge

    return load_judge(spec, where)


def pairwise_judge(cfg: CompareConfig, rm: Path, gold: bool) -> str | None:
    """The pairwise judge's folder: the reward model (only beside a gold reward: without one, the reward
    model already judges every win rate), a causal LM's folder, or ``None``."""
    if cfg.judge == "none":
        return None
    if cfg.judge == "rm":
        return str(rm) if gold else None
    return str(Path(cfg.judge).resolve())


def execute(run: Run, where: str = "main process") -> dict[str, Any]:
    """Train one run (or take its finished training), then measure it; both cached in its stage folder."""
    from rlsuite.alignment.evaluate import evaluate_policy, implicit_reward_accuracy
    from rlsuite.alignment.methods import train
    from rlsuite.alignment.models import placement_of
    from rlsuite.alignment.training import read_metrics

    root = Path(run.root)
    stage = root / "stages" / run.name
    done = stage / "eval.json"
    if done.is_file() and read_metrics(stage) is not None:
        saved = json.loads(done.read_text())
        return {**saved, "skipped": True}
    inputs = json.loads((root / "stages" / "inputs.json").read_text())
    r = row(run.key)
    config = trainer_config(run, str(stage))
    metrics = read_metrics(stage)
    if metrics is None:
        data = inputs["train_prompts"] if r.spec.online else inputs["train_pairs"]
        reward = None if r.reward is None else ("gold" if r.reward == "gold" else run.reward_model)
        metrics = train(config, run.sft, data, reward=reward, resume=True)
    cfg = CompareConfig(**run.config)
    reference = json.loads((root / "stages" / "reference.json").read_text())
    placed = placement_of(config)  # the models are measured where the run trained, in its dtype
    result = evaluate_policy(
        stage / "model", run.sft, inputs["held_prompts"], cfg.eval_samples, judge=_judge(run.judge, placed),
        max_new_tokens=cfg.max_new_tokens, reference=reference, pairwise=_pairwise(run.pairwise, placed), where=placed,
    )
    if r.method == "dpo" and run.seed == cfg.seed and run.value == cfg.headline(run.key):  # a row of the table
        accuracy = implicit_reward_accuracy(stage / "model", run.sft, inputs["held_pairs"], placed)
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


# ---------------------------------------------------------------------------------------------
# The comparison's shared stages


@dataclass
class _Job:
    """What the stages share: the folder, the settings, the listener, and the costs they add up."""

    root: Path
    cfg: CompareConfig
    listener: Listener
    threads: int
    here: dict[str, Any]
    stage_costs: dict[str, Any] = field(default_factory=dict)

    def path(self, name: str) -> Path:
        return self.root / "stages" / name


def _sft_stage(job: _Job, model: str | os.PathLike[str] | None, skip_sft: bool,
               user_pairs: list[dict[str, Any]] | None, conversational: bool) -> Path:
    """1. The SFT policy (the reference of every method)."""
    from rlsuite.alignment import data as D
    from rlsuite.alignment.configs import SFTConfig
    from rlsuite.alignment.training import read_metrics, train_sft

    if model is None:
        from rlsuite.alignment.embedded import default_model_dir

        sft = default_model_dir()
        job.stage_costs["sft"] = {"note": "embedded tiny model, SFT'd once and cached", "path": str(sft)}
        return sft
    if skip_sft:
        sft = Path(model).resolve()
        job.stage_costs["sft"] = {"note": "the given model is the SFT policy", "path": str(sft)}
        return sft
    job.listener.stage("sft")
    cfg = job.cfg
    if user_pairs is None:
        records = D.SentimentTask().sft_dataset(cfg.sft_examples, seed=cfg.seed, conversational=conversational)
    else:
        records = [{"prompt": p["prompt"], "completion": p["chosen"]} for p in user_pairs]
    sft_config = SFTConfig(output_dir=str(job.path("sft")), seed=cfg.seed, torch_threads=job.threads)
    metrics = read_metrics(job.path("sft")) or train_sft(model, records, sft_config, resume=True)
    job.stage_costs["sft"] = {**_cost(metrics), "ran_on": job.here}
    job.listener.done("sft", f"{metrics['global_steps']} steps ({metrics['wall_seconds']:.1f} s)")
    return job.path("sft") / "model"


def _pairs_stage(job: _Job, sft: Path, user_pairs: list[dict[str, Any]] | None,
                 conversational: bool) -> dict[str, Any]:
    """2. Preference pairs (the user's, or sampled from the SFT policy and gold-labelled) and the held-out split."""
    from rlsuite.alignment import data as D
    from rlsuite.alignment.evaluate import sample_pairs

    cfg = job.cfg
    job.listener.stage("pairs")
    train_prompts, held_prompts = D.SentimentTask().split_prompts()
    if conversational and user_pairs is None:
        train_prompts = [D.user_turn(p) for p in train_prompts]
        held_prompts = [D.user_turn(p) for p in held_prompts]
    inputs_path = job.path("inputs.json")
    if inputs_path.is_file():
        inputs = json.loads(inputs_path.read_text())
    else:
        pairs = user_pairs or sample_pairs(sft, train_prompts, cfg.pair_copies, rule=cfg.pair_rule, seed=cfg.seed,
                                           max_new_tokens=cfg.max_new_tokens)
        train_pairs, held_pairs = D.split_heldout(pairs, cfg.heldout_fraction, seed=cfg.seed)
        if user_pairs is not None:
            train_prompts = _unique([p["prompt"] for p in train_pairs])
            held_prompts = _unique([p["prompt"] for p in held_pairs])
        inputs = {"train_pairs": train_pairs, "held_pairs": held_pairs,
                  "train_prompts": train_prompts, "held_prompts": held_prompts}
        write_json(inputs_path, inputs)
    job.listener.done("pairs", f"{len(inputs['train_pairs'])} train, {len(inputs['held_pairs'])} held-out pairs")
    return inputs


def _reward_stage(job: _Job, sft: Path, inputs: dict[str, Any]) -> tuple[Path, float]:
    """3. The reward model (every online method's signal; the judge when there is no gold reward)."""
    from rlsuite.alignment.configs import RewardConfig
    from rlsuite.alignment.evaluate import reward_model_accuracy
    from rlsuite.alignment.training import read_metrics, train_reward

    job.listener.stage("reward")
    rm_config = RewardConfig(output_dir=str(job.path("reward")), num_train_epochs=job.cfg.rm_epochs,
                             seed=job.cfg.seed, torch_threads=job.threads)
    metrics = read_metrics(job.path("reward")) or train_reward(sft, inputs["train_pairs"], rm_config, resume=True)
    job.stage_costs["reward"] = {**_cost(metrics), "ran_on": job.here}
    rm = job.path("reward") / "model"
    accuracy = _cached(job.path("eval_rm_accuracy.json"), lambda: reward_model_accuracy(rm, inputs["held_pairs"]))
    job.listener.done("reward", f"held-out accuracy {accuracy:.2f} ({metrics['wall_seconds']:.1f} s)")
    return rm, accuracy


def _baseline_stage(job: _Job, sft: Path, inputs: dict[str, Any], judge: str, pairwise: str | None
                    ) -> dict[str, Any]:
    """4. The SFT baseline's samples (every win rate is against them) and its row."""
    from rlsuite.alignment.evaluate import evaluate_policy, reference_samples

    cfg = job.cfg
    job.listener.stage("sft baseline")
    reference = _cached(
        job.path("reference.json"),
        lambda: reference_samples(sft, inputs["held_prompts"], cfg.eval_samples, _judge(judge),
                                  max_new_tokens=cfg.max_new_tokens),
    )
    sft_row = _cached(
        job.path("eval_sft.json"),
        lambda: evaluate_policy(sft, sft, inputs["held_prompts"], cfg.eval_samples, judge=_judge(judge),
                                max_new_tokens=cfg.max_new_tokens, reference=reference,
                                pairwise=_pairwise(pairwise)),
    )
    job.listener.done("sft baseline", f"reward {sft_row['reward']:+.2f} over {sft_row['n_samples']} samples")
    return sft_row


def _training_runs(job: _Job, runs: list[Run], workers: int, ray_address: str | None) -> dict[str, dict[str, Any]]:
    """5. The training runs: independent, here or on Ray workers."""
    listener = job.listener
    if workers > 1 or ray_address:
        from rlsuite.alignment.workers import run_on_ray

        def report(name: str, result: dict[str, Any]) -> None:
            listener.stage(name)
            listener.done(name, summary_line(result))

        return run_on_ray(execute, runs, workers, ray_address, on_result=report,
                          log_file=lambda run: str(job.root / "stages" / run.name / "log.txt"))
    results = {}
    for run in runs:
        listener.stage(run.name)
        results[run.name] = execute(run)
        listener.done(run.name, summary_line(results[run.name]))
    return results


def _table(cfg: CompareConfig, sft_row: dict[str, Any], results: dict[str, dict[str, Any]], rm_accuracy: float,
           reward_cost: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """6a. One row per method at its headline strength (the SFT policy first)."""
    table: dict[str, dict[str, Any]] = {"SFT": {**sft_row, "signal": "-", "method": "sft"}}
    for key in cfg.methods:
        r = row(key)
        assert r.spec.strength is not None
        result = dict(results[run_name(key, cfg.headline(key), cfg.seed)])
        result.pop("skipped", None)
        result.update({"method": key, "signal": r.signal, "kl_strength": cfg.headline(key),
                       "strength_name": r.spec.strength[1]})
        if r.reward == "rm":
            result["reward_model_accuracy"] = rm_accuracy
            result["cost_includes_reward_model"] = True
            result["cost"] = _total_cost([result["cost"], reward_cost])
        table[r.label] = result
    return table


def _frontier(cfg: CompareConfig, results: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """6b. Each frontier method's reward and KL at each strength, over the seeds."""
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
        frontier[row(key).label] = points
    return frontier


def _settings(root: Path, cfg: CompareConfig, model: str | os.PathLike[str] | None,
              data: str | os.PathLike[str] | None, skip_sft: bool, conversational: bool) -> dict[str, Any]:
    """The comparison's settings, written to ``settings.json``; a folder holding other settings is refused."""
    settings = {
        "model": str(Path(model).resolve()) if model else "embedded tiny Llama",
        "data": str(Path(data).resolve()) if data else "synthetic sentiment task",
        "skip_sft": skip_sft,
        "conversational": conversational,
        "config": {k: v for k, v in dataclasses.asdict(cfg).items() if k != "torch_threads"},
    }
    (root / "stages").mkdir(parents=True, exist_ok=True)
    path = root / "settings.json"
    if path.is_file():
        if json.loads(path.read_text()) != json.loads(json.dumps(settings)):
            raise UsageError(f"{root}: holds a comparison with other settings; use a new --out folder (or --overwrite)")
    else:
        write_json(path, settings)
    return settings


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
    columns: Any = None,
    trust_pickle: bool = False,
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
        columns: the data's column names where they differ from TRL's (a :class:`~rlsuite.alignment.data.Columns`).
        trust_pickle: accept a ``model`` (or judge) folder whose weights are only pickled; it is unpickled
            once, into a safetensors copy in ``stages/`` that every stage reads.

    Returns:
        Settings, the table (one row per method, with its signal, cost and where it ran), the
        frontier and every stage's cost.
    """
    from rlsuite.common.device import choose_threads, set_torch_threads

    cfg = config or CompareConfig()
    root = Path(out).resolve()
    user_pairs, conversational = check_inputs(cfg, model, data, skip_sft, max_unknown_rate, columns, trust_pickle)
    if user_pairs is not None:
        cfg = without_gold(cfg)
    settings = _settings(root, cfg, model, data, skip_sft, conversational)
    if trust_pickle:  # pickled weights, trusted: unpickled once here, every stage reads the safetensors copy
        from rlsuite.alignment.models import trusted_copy

        model = trusted_copy(model, root / "stages" / "model", True) if model is not None else None
        if cfg.judge not in ("rm", "none"):
            cfg = dataclasses.replace(cfg, judge=str(trusted_copy(cfg.judge, root / "stages" / "judge", True)))
    t_start = time.perf_counter()
    threads = choose_threads(cfg.torch_threads, workers)
    job = _Job(root, cfg, listener or _Quiet(), threads, where_here("main process"))
    sft = _sft_stage(job, model, skip_sft, user_pairs, conversational)
    set_torch_threads(threads)  # this process's threads for what follows (pairs, reward model, evaluations)
    inputs = _pairs_stage(job, sft, user_pairs, conversational)
    rm, rm_accuracy = _reward_stage(job, sft, inputs)
    from rlsuite.alignment.judge import judge_kind

    judge = "gold" if user_pairs is None else str(rm)
    pairwise = pairwise_judge(cfg, rm, gold=judge == "gold")
    sft_row = _baseline_stage(job, sft, inputs, judge, pairwise)
    runs = [
        Run(name, key, value, seed, str(root), str(sft), str(rm), judge, threads, dataclasses.asdict(cfg), pairwise)
        for name, key, value, seed in plan(cfg)
    ]
    results = _training_runs(job, runs, workers, ray_address)
    stage_costs = job.stage_costs
    table = _table(cfg, sft_row, results, rm_accuracy, stage_costs["reward"])
    frontier = _frontier(cfg, results)
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
        "judge": None if pairwise is None else {
            "kind": judge_kind(pairwise),
            "path": pairwise},
        "methods": table,
        "frontier": frontier,
        "stage_costs": stage_costs,
        "heldout": {"prompts": len(inputs["held_prompts"]), "pairs": len(inputs["held_pairs"]),
                    "train_pairs": len(inputs["train_pairs"])},
        "workers": {"count": workers, "ray_address": ray_address, "torch_threads_per_process": threads},
        "total_wall_seconds_this_run": round(time.perf_counter() - t_start, 1),
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
    }


def without_gold(cfg: CompareConfig) -> CompareConfig:
    """The comparison without its gold-reward rows (``grpo_gold``): the user's data has no gold reward
    (the synthetic task's word count means nothing on it). Raises ``UsageError`` when nothing is left."""
    gold = [k for k in dict.fromkeys([*cfg.methods, *cfg.frontier]) if row(k).reward == "gold"]
    if not gold:
        return cfg
    methods = [k for k in cfg.methods if k not in gold]
    if not methods:
        raise UsageError(f"--data: the user's data has no gold reward, and every method ({', '.join(gold)}) "
                         "trains on it; name others with --set methods=[...]")
    log.info("the data has no gold reward: %s left out of the comparison", ", ".join(row(k).label for k in gold))
    return dataclasses.replace(cfg, methods=methods, frontier=[k for k in cfg.frontier if k not in gold])


def check_inputs(
    config: CompareConfig,
    model: str | os.PathLike[str] | None = None,
    data: str | os.PathLike[str] | None = None,
    skip_sft: bool = False,
    max_unknown_rate: float = 0.05,
    columns: Any = None,
    trust_pickle: bool = False,
) -> tuple[list[dict[str, Any]] | None, bool]:
    """Check what the user gave, before any work or output: the data file, the model folder, the
    tokenizer's coverage of the data and its chat template. Returns ``(pairs or None, conversational)``.
    Model folders with only pickled weights are refused unless ``trust_pickle``.

    Raises:
        DataError, ModelFolderError, UsageError: naming the file, folder or setting.
    """
    from rlsuite.alignment import data as D
    from rlsuite.alignment.models import check_causal_lm, check_data_for, check_vocabulary, load_tokenizer

    user_pairs = D.load_preferences(data, columns=columns) if data else None
    if model is None and skip_sft:
        raise UsageError("--skip_sft needs --model (the embedded model is SFT'd already)")
    if model is not None:
        check_causal_lm(model, trust_pickle=trust_pickle)
    tok = load_tokenizer(model) if model is not None else None
    has_template = tok is not None and bool(getattr(tok, "chat_template", None))
    if user_pairs is not None:
        conversational = any(isinstance(p["prompt"], list) for p in user_pairs)
    else:
        conversational = config.chat if config.chat is not None else has_template
    if conversational and not has_template:
        where = model if model is not None else "the embedded model"
        raise DataError(f"{where}: conversations need a tokenizer with a chat template, and this one has none")
    if config.judge not in ("rm", "none"):
        from rlsuite.alignment.judge import load_judge

        # a folder that is neither a reward model nor a causal LM: one line, now
        load_judge(config.judge, trust_pickle=trust_pickle)
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
