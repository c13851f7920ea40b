"""``align compare``'s plan: its rows, its config, and every training run it makes.

A row is a method of :data:`rlsuite.alignment.methods.METHODS` with settings of its own (a DPO loss,
the gold reward) and a label. The named rows are :data:`ROWS`; any DPO loss, or weighted mix of them,
is a row too: ``dpo:hinge``, ``dpo:apo_zero``, ``dpo:sigmoid+sft``, ``dpo:sigmoid=1+sft=0.5``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from rlsuite.alignment.methods import METHODS, Method
from rlsuite.common.config import Config, config_error, option

OFFLINE_SIGNAL = "preference pairs, offline"


@dataclass(frozen=True)
class Row:
    """One row of the comparison: its key (as ``--methods`` names it), label, method, signal and settings."""

    key: str
    label: str
    method: str  # a key of METHODS
    signal: str
    settings: tuple[tuple[str, Any], ...] = ()  # config fields of its own (loss_type, loss_weights)
    reward: Literal["rm", "gold"] | None = None  # online methods: what they train on

    @property
    def spec(self) -> Method:
        return METHODS[self.method]

    @property
    def slug(self) -> str:
        """The key as a folder-name part (``dpo:sigmoid=1+sft=0.5`` -> ``dpo-sigmoid-1-sft-0.5``)."""
        return re.sub(r"[^A-Za-z0-9_.]+", "-", self.key)


ROWS: dict[str, Row] = {r.key: r for r in (
    Row("dpo", "DPO", "dpo", OFFLINE_SIGNAL, (("loss_type", ["sigmoid"]),)),
    Row("ipo", "IPO", "dpo", OFFLINE_SIGNAL, (("loss_type", ["ipo"]),)),
    Row("rdpo", "rDPO", "dpo", "preference pairs, offline (robust to label flips)", (("loss_type", ["robust"]),)),
    Row("online_dpo", "Online DPO", "online_dpo", "reward model, online", reward="rm"),
    Row("rloo", "RLOO", "rloo", "reward model, online", reward="rm"),
    Row("grpo", "GRPO", "grpo", "reward model, online", reward="rm"),
    Row("grpo_gold", "GRPO (gold)", "grpo", "gold reward, online (verifiable)", reward="gold"),
    Row("ppo", "PPO", "ppo", "reward model, online", reward="rm"),
    # opt-in rows (not in the default comparison)
    Row("kto", "KTO", "kto", "preference pairs unpaired, offline"),
    Row("orpo", "ORPO", "orpo", "preference pairs, offline (no reference model)"),
    Row("simpo", "SimPO", "simpo", "preference pairs, offline (no reference model)"),
    Row("bco", "BCO", "bco", "preference pairs unpaired, offline"),
)}
DEFAULT_ROWS = ["dpo", "ipo", "rdpo", "online_dpo", "rloo", "grpo", "grpo_gold", "ppo"]


def dpo_loss_row(key: str) -> Row:
    """The row of ``dpo:LOSS[=W][+LOSS[=W]...]``: DPOTrainer with those losses (weights all given or none).

    Raises:
        ValueError: an unknown loss name, a weight that is not a number, or weights given to some losses only.
    """
    from rlsuite.alignment.configs import DPO_LOSSES

    parts = [p.strip() for p in key.split(":", 1)[1].split("+")]
    losses, weights = [], []
    for part in parts:
        name, eq, weight = part.partition("=")
        if name not in DPO_LOSSES:
            raise ValueError(f"{key!r}: DPO loss {name!r} is not one of {', '.join(DPO_LOSSES)}")
        losses.append(name)
        if eq:
            try:
                weights.append(float(weight))
            except ValueError:
                raise ValueError(f"{key!r}: the weight of {name!r} is not a number: {weight!r}") from None
    if weights and len(weights) != len(losses):
        raise ValueError(f"{key!r}: {len(weights)} weights for {len(losses)} losses (weight every loss, or none)")
    if len(set(losses)) != len(losses):
        raise ValueError(f"{key!r}: a loss is named twice")
    settings: tuple[tuple[str, Any], ...] = (("loss_type", losses),)
    if weights:
        settings += (("loss_weights", weights),)
    return Row(key, "DPO " + key.split(":", 1)[1], "dpo", OFFLINE_SIGNAL, settings)


def row(key: str) -> Row:
    """The row a ``--methods`` key names (:data:`ROWS`, or ``dpo:LOSS...``); ``ValueError`` if none."""
    if key in ROWS:
        return ROWS[key]
    if key.startswith("dpo:"):
        return dpo_loss_row(key)
    raise ValueError(f"{key!r} is not one of {', '.join(ROWS)}, or dpo:LOSS[=W][+LOSS[=W]...]")


@dataclass
class CompareConfig(Config):
    """Methods, budgets and sweeps of the comparison (the defaults fit in 10 minutes on 2 CPU cores)."""

    methods: list[str] = option(
        default_factory=lambda: list(DEFAULT_ROWS),
        help="rows of the table: " + ", ".join(ROWS) + " (the last four opt-in), or any DPO loss: "
        "dpo:hinge, dpo:sigmoid+sft, dpo:sigmoid=1+sft=0.5",
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
    dpo_epochs: int = option(2, help="epochs of the DPO family (and KTO, ORPO, SimPO, BCO)", ge=1)
    online_steps: int = option(30, help="optimizer steps of RLOO, GRPO and Online DPO", ge=1)
    ppo_episodes: int = option(384, help="PPO episodes (prompts sampled)", ge=1)
    sft_examples: int = option(2048, help="SFT examples when the model needs SFT (synthetic task)", ge=1)
    chat: bool | None = option(
        None, help="prompts as conversations through the chat template (default: when the tokenizer has one)"
    )
    judge: str = option(
        "rm", help="a pairwise judge of each method's samples against SFT's, beside the gold win rate: rm (the "
        "trained reward model), a local causal-LM folder prompted as a judge (position-swapped), or none"
    )
    torch_threads: int = option(0, help="torch threads per process (0: OMP_NUM_THREADS, else 1)", ge=0)

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("methods", "frontier"):
            keys = getattr(self, name)
            for key in keys:
                try:
                    found = row(key)
                except ValueError as exc:
                    raise config_error(self, name, str(exc)) from None
                if found.spec.strength is None:
                    raise config_error(self, name, f"{key!r} is not an alignment method to compare")
            if len(set(keys)) != len(keys):
                raise config_error(self, name, "lists a method twice")
        if not self.methods:
            raise config_error(self, "methods", "needs at least one method")
        labels = [row(k).label for k in self.methods]
        if len(set(labels)) != len(labels):
            raise config_error(self, "methods", "two rows with one label (the same losses written twice?)")

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
        """The KL strength of a row in the table."""
        return self.dpo_beta if _strength_name(key) == "beta" else self.kl_coef

    def sweep(self, key: str) -> list[float]:
        """The KL strengths of a row's frontier curve."""
        return list(self.dpo_betas if _strength_name(key) == "beta" else self.kl_coefs)


def _strength_name(key: str) -> str:
    strength = row(key).spec.strength
    assert strength is not None  # CompareConfig refuses rows without one
    return strength[1]


def run_name(key: str, value: float, seed: int) -> str:
    """A run's stage folder name: ``<row>_k<strength>_s<seed>``."""
    return f"{row(key).slug}_k{value:g}_s{seed}"


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
    pairwise: str | None = None  # a pairwise judge's folder (reward model or causal LM), or none


def plan(config: CompareConfig) -> list[tuple[str, str, float, int]]:
    """Every training run: ``(name, row key, strength, seed)``, the table's first, without duplicates."""
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


# What the comparison's budget means for each kind of method: (config field, CompareConfig field).
BUDGETS = {"epochs": ("num_train_epochs", "dpo_epochs"), "steps": ("max_steps", "online_steps"),
           "episodes": ("total_episodes", "ppo_episodes")}


def trainer_config(run: Run, output_dir: str) -> Any:
    """The TRL config of a run: rlsuite's defaults, the comparison's budget, the row's settings, the run's
    strength and seed."""
    cfg = CompareConfig(**run.config)
    r = row(run.key)
    method = r.spec
    assert method.strength is not None
    budget_field, compare_field = BUDGETS[method.budget]
    values: dict[str, Any] = {"output_dir": output_dir, "seed": run.seed, "torch_threads": run.threads,
                              budget_field: getattr(cfg, compare_field), method.strength[0]: run.value}
    if method.length:
        values[method.length] = cfg.max_new_tokens
    values.update({k: list(v) if isinstance(v, list) else v for k, v in r.settings})
    if "robust" in values.get("loss_type", []):
        values["label_smoothing"] = cfg.robust_label_smoothing
    return method.config(**values)
