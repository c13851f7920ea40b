"""The alignment methods, in one table: ``METHODS[name]`` holds a method's config class, its train
function, what it trains on, its reward and its one-line help. The CLI's subcommands
(``rlsuite align NAME``), ``align compare``'s rows and the tour all read this table; a name is spelled
the same way everywhere (``online_dpo``: the subcommand, the config's ``METHOD``, the YAML file, the
compare key).

| name | TRL trainer | trains on | reward |
|---|---|---|---|
| sft | ``trl.SFTTrainer`` | prompt/completion records | - |
| reward | ``trl.RewardTrainer`` | preference pairs | - |
| dpo | ``trl.DPOTrainer`` (any ``loss_type``) | preference pairs | - |
| kto | ``trl.KTOTrainer`` | unpaired labelled completions (pairs are unpaired) | - |
| orpo | ``trl.experimental.orpo.ORPOTrainer`` | preference pairs | - |
| simpo | ``trl.experimental.cpo.CPOTrainer``, ``loss_type="simpo"``, ``cpo_alpha=0`` | preference pairs | - |
| bco | ``trl.experimental.bco.BCOTrainer`` | unpaired labelled completions (pairs are unpaired) | - |
| rloo | ``trl.RLOOTrainer`` | prompts | reward model or gold |
| grpo | ``trl.GRPOTrainer`` | prompts | reward model or gold |
| online_dpo | ``trl.experimental.online_dpo.OnlineDPOTrainer`` | prompts | reward model or gold |
| ppo | ``trl.experimental.ppo.PPOTrainer`` (TRL 1.12) | prompts | reward model |
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rlsuite.alignment import configs as C
from rlsuite.alignment import training as T
from rlsuite.common.errors import ConfigError

Data = Literal["records", "pairs", "unpaired", "prompts"]
Budget = Literal["epochs", "steps", "episodes"]


@dataclass(frozen=True)
class Method:
    """One alignment method.

    Attributes:
        name: the one spelling (CLI subcommand, ``config.METHOD``, compare key).
        config: rlsuite's config class (a subclass of TRL's).
        train: ``train(model_path, data, config, [reward,] model_config=, resume=)``.
        help: one line for ``rlsuite align --help`` (names the TRL trainer, main or experimental).
        data: what it trains on: ``records`` (prompt/completion), ``pairs`` (prompt/chosen/rejected),
            ``unpaired`` (pairs, or prompt/completion/label records), ``prompts`` (online sampling).
        reward: an online method's reward: ``"rm_or_gold"``, ``"rm"`` (a reward-model folder only), or ``None``.
        starts_from: the default starting model: the embedded ``base`` model (SFT) or its SFT'd ``sft`` one.
        strength: the config field of its KL (or regulariser) knob and how the report names it; ``None``: none.
        budget: what ``align compare``'s budget means for it: ``epochs`` (offline), ``steps``, ``episodes`` (PPO).
        length: the config field of the longest sampled completion (online methods).
    """

    name: str
    config: type
    train: Callable[..., dict[str, Any]]
    help: str
    data: Data
    reward: Literal["rm_or_gold", "rm"] | None = None
    starts_from: Literal["base", "sft"] = "sft"
    strength: tuple[str, str] | None = ("beta", "beta")
    budget: Budget = "epochs"
    length: str | None = None

    @property
    def online(self) -> bool:
        return self.reward is not None

    def check_reward(self, reward: Any, trust_pickle: bool = False) -> None:
        """A reward given or missing, as this method needs it (one line naming ``--reward_model``); a
        folder with only pickled weights is refused unless ``trust_pickle``."""
        if self.reward is None:
            return
        if reward is None:
            gold = ", or gold" if self.reward == "rm_or_gold" else ""
            raise ConfigError(f"{self.name}: --reward_model is required (a reward-model folder{gold})",
                              "reward_model_path")
        if self.reward == "rm" and not callable(reward) and str(reward) == "gold":
            raise ConfigError(f"{self.name}: --reward_model must be a reward-model folder (its value model starts "
                              "from it); for the gold reward use rloo, grpo or online_dpo", "reward_model_path")
        T.check_reward(reward, trust_pickle)


_ONLINE = {"budget": "steps", "strength": ("beta", "KL coef")}
METHODS: dict[str, Method] = {m.name: m for m in (
    Method("sft", C.SFTConfig, T.train_sft, "supervised fine-tuning (TRL SFTTrainer)", "records",
           starts_from="base", strength=None),
    Method("reward", C.RewardConfig, T.train_reward, "reward model on preference pairs (TRL RewardTrainer)",
           "pairs", strength=None),
    Method("dpo", C.DPOConfig, T.train_dpo,
           "DPO and its loss family: --loss_type sigmoid|ipo|robust|... (TRL DPOTrainer)", "pairs"),
    Method("kto", C.KTOConfig, T.train_kto,
           "KTO on unpaired desirable/undesirable completions; pairs are unpaired (TRL KTOTrainer, main)",
           "unpaired"),
    Method("orpo", C.ORPOConfig, T.train_orpo,
           "ORPO: SFT plus an odds-ratio preference term, no reference model (trl.experimental.orpo)", "pairs"),
    Method("simpo", C.SimPOConfig, T.train_simpo,
           "SimPO: CPO with loss_type=simpo, cpo_alpha=0, no reference model (trl.experimental.cpo)", "pairs"),
    Method("bco", C.BCOConfig, T.train_bco,
           "BCO: a binary classifier of desirable completions; pairs are unpaired (trl.experimental.bco)",
           "unpaired"),
    Method("rloo", C.RLOOConfig, T.train_rloo,
           "RLHF with RLOO against a reward model or the gold reward (TRL RLOOTrainer)", "prompts",
           reward="rm_or_gold", length="max_completion_length", **_ONLINE),  # type: ignore[arg-type]
    Method("grpo", C.GRPOConfig, T.train_grpo,
           "GRPO against a reward model or the gold reward (TRL GRPOTrainer)", "prompts",
           reward="rm_or_gold", length="max_completion_length", **_ONLINE),  # type: ignore[arg-type]
    Method("online_dpo", C.OnlineDPOConfig, T.train_online_dpo,
           "Online DPO, pairs sampled online and ranked by a reward model or gold (trl.experimental.online_dpo)",
           "prompts", reward="rm_or_gold", budget="steps", length="max_new_tokens"),
    Method("ppo", C.PPOConfig, T.train_ppo,
           "RLHF with PPO against a reward model (TRL 1.12 trl.experimental.ppo)", "prompts",
           reward="rm", budget="episodes", strength=("kl_coef", "KL coef"), length="response_length"),
)}


def method_of(config: Any) -> Method:
    """The method a config trains (its ``METHOD``)."""
    return METHODS[config.METHOD]


def train(
    config: Any,
    model_path: str | os.PathLike[str],
    data: Sequence[Any],
    reward: T.Reward | None = None,
    model_config: C.ModelConfig | None = None,
    resume: bool = False,
) -> dict[str, Any]:
    """Train the method of ``config`` (its ``METHOD``): records for SFT, pairs for the offline methods,
    prompts for the online ones (which also take ``reward``; default: the config's ``reward_model_path``)."""
    method = method_of(config)
    if method.online:
        return method.train(model_path, data, config, reward, model_config=model_config, resume=resume)
    return method.train(model_path, data, config, model_config=model_config, resume=resume)


def load_data(method: Method, path: str | os.PathLike[str], columns: Any = None) -> list[dict[str, Any]]:
    """The user's data for ``method``, loaded and checked (one line naming file and line when bad):
    prompt/completion records for SFT, preference pairs otherwise (KTO and BCO: also unpaired records);
    ``columns``: a :class:`~rlsuite.alignment.data.Columns` where the data's column names differ."""
    from rlsuite.alignment import data as D

    if method.data == "records":
        return D.load_sft_records(path, columns)
    return D.load_preferences(path, unpaired=method.data == "unpaired", columns=columns)


def start_model(method: Method, model: str | os.PathLike[str] | None) -> Path:
    """The folder ``method`` starts from: ``model``, else the embedded model (its base for SFT)."""
    from rlsuite.alignment.embedded import default_base_dir, default_model_dir

    if model:
        return Path(model)
    return default_base_dir() if method.starts_from == "base" else default_model_dir()


def training_data(method: Method, records: list[dict[str, Any]] | None, model: str | os.PathLike[str],
                  conversational: bool, seed: int, trust_pickle: bool = False) -> list[Any]:
    """What ``method`` trains on: the user's ``records`` (for an online method, their unique prompts), else
    the synthetic task's (SFT records; pairs sampled from ``model`` and gold-labelled; prompts);
    ``trust_pickle``: a ``model`` whose weights are only pickled is loaded, not refused."""
    from rlsuite.alignment import data as D

    task = D.SentimentTask()
    if method.data == "records":
        return records if records is not None else task.sft_dataset(2048, seed=seed, conversational=conversational)
    prompts, _ = task.split_prompts()
    if conversational:
        prompts = [D.user_turn(p) for p in prompts]  # type: ignore[misc]
    if method.online:
        return list({json.dumps(r["prompt"]): r["prompt"] for r in records}.values()) if records is not None \
            else prompts
    if records is not None:
        return records
    from rlsuite.alignment.evaluate import sample_pairs

    return sample_pairs(model, prompts, 24, seed=seed, trust_pickle=trust_pickle)
