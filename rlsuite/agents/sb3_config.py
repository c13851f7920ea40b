"""Typed configs of the stable-baselines3 algorithms: every setting, its default, help and bounds.

One class per algorithm (:class:`PPOConfig`, :class:`A2CConfig`, :class:`DQNConfig`, and sb3-contrib's
:class:`QRDQNConfig`, :class:`TRPOConfig`, :class:`MaskablePPOConfig`, :class:`RecurrentPPOConfig`,
:class:`ARSConfig`) on a shared
:class:`SB3RunConfig`, built on :class:`rlsuite.common.config.Config`: the fields are SB3's
constructor arguments with SB3's defaults, RL Zoo's keys (``n_timesteps``, ``policy``,
``n_envs``, ``policy_kwargs``, ``env_wrapper``) and how rlsuite drives the run (evaluation,
checkpoints, the batched vector env, video, torch threads). The values stay typed up to SB3's
constructor: :meth:`SB3RunConfig.sb3_kwargs` turns the fields into its keyword arguments
(``lin_<x>`` strings into SB3 schedules, allow-listed names into classes).

This module imports neither torch nor SB3, so ``rlsuite train ppo --help`` stays fast.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from rlsuite.common.config import Config, config_error, option
from rlsuite.common.device import device_problem
from rlsuite.common.memory import fits, human, physical_memory

ALGOS: dict[str, str] = {
    "ppo": "stable-baselines3 PPO (clipped policy gradient, on-policy; any Discrete/Box action space)",
    "a2c": "stable-baselines3 A2C (synchronous advantage actor-critic, on-policy)",
    "dqn": "stable-baselines3 DQN (deep Q-learning with replay and target net; Discrete actions)",
    "qrdqn": "sb3-contrib QR-DQN (distributional DQN with quantile regression; Discrete actions)",
    "trpo": "sb3-contrib TRPO (trust-region policy gradient, on-policy)",
    "maskable_ppo": "sb3-contrib MaskablePPO (PPO with invalid-action masks; the grid world's mask by default)",
    "recurrent_ppo": "sb3-contrib RecurrentPPO (PPO with an LSTM policy, on-policy)",
    "ars": "sb3-contrib ARS (augmented random search over the policy's parameters)",
}
POLICIES = ("MlpPolicy", "CnnPolicy", "MultiInputPolicy")
# Names that policy_kwargs may use for classes, and where they come from (no other import is done).
ACTIVATIONS = ("ReLU", "Tanh", "ELU", "LeakyReLU", "GELU", "SiLU", "Sigmoid", "Identity")
OPTIMIZERS = ("Adam", "AdamW", "RMSprop", "SGD")
EXTRACTORS = ("FlattenExtractor", "NatureCNN", "CombinedExtractor")
# Where env_wrapper classes may come from unless trust_env_wrapper is given.
WRAPPER_NAMESPACES = ("rlsuite.", "gymnasium.")
SCHEDULE = re.compile(r"lin_([0-9.eE+-]+)")
BYTES_PER_ENV = 100_000  # one env copy, its wrappers and its rollout rows (an over-estimate for small envs)


# Settings that several algorithms declare alike (SB3's default, help, range): ``name: type = shared("name")``.
SHARED: dict[str, tuple[Any, dict[str, Any]]] = {
    "gamma": (0.99, {"help": "discount factor", "ge": 0.0, "le": 1.0}),
    "gae_lambda": (0.95, {"help": "GAE's bias-variance trade-off", "ge": 0.0, "le": 1.0}),
    "ent_coef": (0.0, {"help": "entropy bonus coefficient", "ge": 0.0}),
    "vf_coef": (0.5, {"help": "value loss coefficient", "ge": 0.0}),
    "max_grad_norm": (0.5, {"help": "gradient clipping norm", "gt": 0.0}),
    "use_sde": (False, {"help": "generalised state-dependent exploration (Box actions only)"}),
    "sde_sample_freq": (-1, {"help": "resample the gSDE noise every n steps (-1: once per rollout)", "ge": -1}),
}


def shared(name: str) -> Any:
    """A new field (each dataclass needs its own) for the setting ``name`` of :data:`SHARED`."""
    default, kwargs = SHARED[name]
    return option(default, **kwargs)


def schedule_start(value: float | str) -> float:
    """The initial value of a number or of RL Zoo's ``lin_<x>`` schedule (x decays linearly to 0)."""
    if isinstance(value, str):
        match = SCHEDULE.fullmatch(value)
        return float(match.group(1)) if match else float("nan")
    return float(value)


def wrapper_specs(spec: str | list[Any] | dict[str, Any] | None) -> list[tuple[str, dict[str, Any]]]:
    """RL Zoo's ``env_wrapper`` (a dotted class name, ``{name: kwargs}``, or a list of them) as
    ``[(name, kwargs), ...]``; raises ``ValueError`` on any other shape."""
    if spec is None:
        return []
    items = spec if isinstance(spec, list) else [spec]
    out: list[tuple[str, dict[str, Any]]] = []
    for item in items:
        if isinstance(item, str):
            out.append((item, {}))
        elif isinstance(item, dict) and len(item) == 1:
            ((name, kwargs),) = item.items()
            if not isinstance(name, str) or not (kwargs is None or isinstance(kwargs, dict)):
                raise ValueError(f"expected {{class name: {{kwargs}}}}, got {item!r}")
            out.append((name, dict(kwargs or {})))
        else:
            raise ValueError(f"expected a class name or {{name: kwargs}}, got {item!r}")
    for name, _ in out:
        if not re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+", name):
            raise ValueError(f"{name!r} is not a dotted class name such as rlsuite.envs.wrappers.OneHotObservation")
    return out


@dataclass
class SB3RunConfig(Config):
    """What every stable-baselines3 run shares: RL Zoo's keys and how rlsuite drives the run.

    The algorithm's own hyperparameters are declared by the subclasses; ``sb3_kwargs`` passes
    every field that is an argument of the algorithm's constructor to it.
    """

    # SB3 class and RL Zoo names of the algorithm; set by each subclass.
    algo: ClassVar[str] = ""
    sb3_class: ClassVar[str] = ""
    sb3_module: ClassVar[str] = "stable_baselines3"  # sb3_contrib for the contrib algorithms
    # The algorithm's own name of each of rlsuite's three policies where it differs (RecurrentPPO's LSTMs).
    POLICY_NAMES: ClassVar[dict[str, str]] = {}
    # Fields that are rlsuite's run settings or RL Zoo's keys, not constructor arguments.
    RUN_FIELDS: ClassVar[tuple[str, ...]] = (
        "n_timesteps", "n_envs", "env_wrapper", "trust_env_wrapper", "vec_env", "env_device", "eval_freq",
        "n_eval_episodes", "checkpoint_freq", "progress_bar", "sb3_verbose", "torch_threads", "video",
        "video_episodes",
    )  # fmt: skip

    # ----- RL Zoo's keys -----
    n_timesteps: int = option(100_000, help="training length in env steps (RL Zoo's key; --budget overrides it)", ge=1)
    policy: Literal["MlpPolicy", "CnnPolicy", "MultiInputPolicy"] = option(
        "MlpPolicy", help="SB3 policy: MlpPolicy (vectors), CnnPolicy (images), MultiInputPolicy (dict observations)"
    )
    n_envs: int = option(1, help="env copies stepped together (a rollout is n_steps x n_envs env steps)", ge=1)
    policy_kwargs: dict | None = option(
        None,
        help="policy arguments, e.g. '{net_arch: [64, 64], activation_fn: ReLU}' "
        f"(activation_fn one of {', '.join(ACTIVATIONS)}; optimizer_class one of {', '.join(OPTIMIZERS)})",
    )
    env_wrapper: str | list | dict | None = option(
        None,
        help="observation wrapper(s): a class name (rlsuite.envs.wrappers.OneHotObservation), {name: kwargs} "
        "or a list of them; only rlsuite.* and gymnasium.* classes unless --trust_env_wrapper",
    )
    trust_env_wrapper: bool = option(
        False,
        help="let env_wrapper import classes outside rlsuite and gymnasium (importing a module runs its code); "
        "command line only, never read from a config file",
    )
    # ----- how rlsuite drives the run -----
    vec_env: Literal["dummy", "batched"] = option(
        "dummy", help="dummy: SB3's DummyVecEnv of gym.make envs; batched: rlsuite's array env (BatchedVecEnv)"
    )
    env_device: str = option("cpu", help="the batched env's arrays: cpu (numpy), cuda, cuda:N or auto (torch)")
    eval_freq: int = option(
        10_000,
        help="evaluate the greedy policy about every this many env steps (0: never); rounded to whole "
        "updates, so never more than once per update",
        ge=0,
    )
    n_eval_episodes: int = option(10, help="episodes per evaluation", ge=1)
    checkpoint_freq: int = option(
        10_000, help="checkpoint about every this many env steps (0: only at the end); rounded to whole updates", ge=0
    )
    progress_bar: bool = option(True, help="report training progress to rlsuite's progress display")
    sb3_verbose: int = option(0, help="SB3's own log tables in the log (1), with debug lines (2)", ge=0, le=2)
    torch_threads: int = option(
        0, help="torch CPU threads (0: rlsuite's choice, 1 per process unless OMP_NUM_THREADS says otherwise)", ge=0
    )
    video: bool = option(False, help="record greedy episodes to videos/ after training (needs moviepy)")
    video_episodes: int = option(2, help="episodes to record when video is on", ge=1)
    # ----- an argument of every algorithm's constructor -----
    stats_window_size: int = option(100, help="episodes averaged in the rollout/ log lines", ge=1)

    def __post_init__(self) -> None:
        super().__post_init__()
        need = self.n_envs * BYTES_PER_ENV
        if not fits(need):
            raise config_error(self, "n_envs", f"{self.n_envs} env copies need about {human(need)} of memory; "
                               f"this machine has {human(physical_memory() or 0)}")  # fmt: skip
        for name in ("learning_rate", "clip_range", "clip_range_vf"):
            value = getattr(self, name, None)
            if isinstance(value, str) and not schedule_start(value) > 0:
                raise config_error(self, name, f"expected a number > 0 or 'lin_<number > 0>', got {value!r}")
        try:
            specs = wrapper_specs(self.env_wrapper)
        except ValueError as exc:
            raise config_error(self, "env_wrapper", str(exc)) from None
        if not self.trust_env_wrapper:
            for name, _ in specs:
                if not name.startswith(WRAPPER_NAMESPACES):
                    raise config_error(
                        self,
                        "env_wrapper",
                        f"{name!r} is outside rlsuite and gymnasium; importing it would run its module's code "
                        "(pass --trust_env_wrapper on the command line if you trust it)",
                    )
        if device_problem(self.env_device) is not None:  # the one vocabulary (cpu here: numpy arrays)
            raise config_error(self, "env_device", f"expected cpu, auto, cuda or cuda:N, got {self.env_device!r}")
        self._check_policy_kwargs()

    def _check_policy_kwargs(self) -> None:
        kwargs = self.policy_kwargs or {}
        allowed = {"activation_fn": ACTIVATIONS, "optimizer_class": OPTIMIZERS, "features_extractor_class": EXTRACTORS}
        for key, value in kwargs.items():
            if not isinstance(key, str):
                raise config_error(self, "policy_kwargs", f"keys must be names, got {key!r}")
            if key in allowed and value not in allowed[key]:
                raise config_error(
                    self, "policy_kwargs", f"{key}: expected one of {', '.join(allowed[key])}, got {value!r}"
                )
            if key not in allowed and not _plain_data(value):
                raise config_error(self, "policy_kwargs", f"{key}: expected plain data (numbers, lists, mappings)")

    # ----- what SB3 gets -----
    def sb3_kwargs(self, n_steps: int | None = None) -> dict[str, Any]:
        """Keyword arguments of the SB3 constructor (besides env, seed and device).

        Args:
            n_steps: the rollout length per env when the config leaves it to rlsuite (``None``).
        """
        from stable_baselines3.common.utils import LinearSchedule

        kwargs: dict[str, Any] = {"verbose": 0}  # SB3 prints with verbose; its log tables go to the logger instead
        for f in dataclasses.fields(self):
            if f.name in self.RUN_FIELDS:
                continue
            value = getattr(self, f.name)
            if f.name in ("learning_rate", "clip_range", "clip_range_vf") and isinstance(value, str):
                value = LinearSchedule(schedule_start(value), 0.0, 1.0)
            kwargs[f.name] = value
        if "n_steps" in kwargs and kwargs["n_steps"] is None:
            kwargs["n_steps"] = n_steps
        kwargs["policy_kwargs"] = policy_kwargs_objects(self.policy_kwargs)
        kwargs["policy"] = self.sb3_policy(self.policy)
        return self.adjust_sb3_kwargs(kwargs)

    @classmethod
    def sb3_policy(cls, name: str) -> str:
        """The algorithm's own name (a key of its ``policy_aliases``) of rlsuite's policy ``name``."""
        return cls.POLICY_NAMES.get(name, name)

    def adjust_sb3_kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """A subclass's last say on its keyword arguments (DQN's train_freq pair)."""
        return kwargs

    def rollout_steps(self) -> int | None:
        """Env steps between two updates for on-policy algorithms (None: off-policy)."""
        return None


def _plain_data(value: Any) -> bool:
    if value is None or isinstance(value, bool | int | float | str):
        return True
    if isinstance(value, list | tuple):
        return all(_plain_data(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain_data(v) for k, v in value.items())
    return False


def policy_kwargs_objects(kwargs: dict[str, Any] | None) -> dict[str, Any] | None:
    """``policy_kwargs`` with the allow-listed class names replaced by the classes."""
    if kwargs is None:
        return None
    import torch

    out = dict(kwargs)
    if "activation_fn" in out:
        out["activation_fn"] = getattr(torch.nn, out["activation_fn"])
    if "optimizer_class" in out:
        out["optimizer_class"] = getattr(torch.optim, out["optimizer_class"])
    if "features_extractor_class" in out:
        from stable_baselines3.common import torch_layers

        out["features_extractor_class"] = getattr(torch_layers, out["features_extractor_class"])
    return out


@dataclass
class PPOBaseConfig(SB3RunConfig):
    """PPO's settings without gSDE: the base of :class:`PPOConfig` and :class:`MaskablePPOConfig`."""

    MIN_N_STEPS: ClassVar[int] = 8
    DEFAULT_ROLLOUT: ClassVar[int] = 2048
    SEARCH_SPACE: ClassVar[dict[str, dict[str, Any]]] = {
        "learning_rate": {"low": 1e-4, "high": 3e-3, "log": True}, "n_steps": {"choices": [32, 64, 128, 256]},
        "batch_size": {"choices": [64, 128, 256]}, "n_epochs": {"low": 1, "high": 10},
        "gae_lambda": {"low": 0.8, "high": 1.0}, "ent_coef": {"low": 0.0, "high": 0.05},
        "clip_range": {"choices": [0.1, 0.2, 0.3]}}  # fmt: skip

    learning_rate: float | str = option(3e-4, help="Adam step size, or 'lin_<x>': linear decay from x to 0", gt=0)
    n_steps: int | None = option(
        None,
        help="env steps per env between updates; default: SB3's 2048 for one env, split over n_envs "
        "(2048 // n_envs, at least 8)",
        ge=1,
    )
    batch_size: int = option(64, help="minibatch size", ge=2)
    n_epochs: int = option(10, help="passes over each rollout", ge=1)
    gamma: float = shared("gamma")
    gae_lambda: float = shared("gae_lambda")
    clip_range: float | str = option(0.2, help="policy ratio clipping, or 'lin_<x>'", gt=0)
    clip_range_vf: float | str | None = option(None, help="value clipping (None: no clipping), or 'lin_<x>'", gt=0)
    normalize_advantage: bool = option(True, help="normalise advantages per minibatch")
    ent_coef: float = shared("ent_coef")
    vf_coef: float = shared("vf_coef")
    max_grad_norm: float = shared("max_grad_norm")
    target_kl: float | None = option(None, help="stop an update's epochs early past this KL (None: never)", gt=0)

    def rollout_n_steps(self) -> int:
        """``n_steps``, or rlsuite's default: SB3's 2048 env steps per update split over the envs."""
        if self.n_steps is not None:
            return self.n_steps
        return max(self.MIN_N_STEPS, self.DEFAULT_ROLLOUT // self.n_envs)

    def rollout_steps(self) -> int:
        return self.rollout_n_steps() * self.n_envs


@dataclass
class PPOConfig(PPOBaseConfig):
    """stable-baselines3 PPO: SB3's defaults, RL Zoo's keys, rlsuite's run settings."""

    algo: ClassVar[str] = "ppo"
    sb3_class: ClassVar[str] = "PPO"

    use_sde: bool = shared("use_sde")
    sde_sample_freq: int = shared("sde_sample_freq")


@dataclass
class A2CConfig(SB3RunConfig):
    """stable-baselines3 A2C: SB3's defaults, RL Zoo's keys, rlsuite's run settings."""

    algo: ClassVar[str] = "a2c"
    sb3_class: ClassVar[str] = "A2C"
    SEARCH_SPACE: ClassVar[dict[str, dict[str, Any]]] = {
        "learning_rate": {"low": 1e-4, "high": 3e-3, "log": True}, "n_steps": {"choices": [5, 8, 16, 32]},
        "gae_lambda": {"low": 0.8, "high": 1.0}, "ent_coef": {"low": 0.0, "high": 0.05}}  # fmt: skip

    learning_rate: float | str = option(7e-4, help="RMSprop (or Adam) step size, or 'lin_<x>'", gt=0)
    n_steps: int = option(5, help="env steps per env between updates (the bootstrap horizon)", ge=1)
    gamma: float = shared("gamma")
    gae_lambda: float = option(1.0, help="GAE's bias-variance trade-off (1: plain n-step returns)", ge=0.0, le=1.0)
    ent_coef: float = shared("ent_coef")
    vf_coef: float = shared("vf_coef")
    max_grad_norm: float = shared("max_grad_norm")
    rms_prop_eps: float = option(1e-5, help="RMSprop epsilon", gt=0.0)
    use_rms_prop: bool = option(True, help="RMSprop (true) or Adam (false)")
    use_sde: bool = shared("use_sde")
    sde_sample_freq: int = shared("sde_sample_freq")
    normalize_advantage: bool = option(False, help="normalise advantages")

    def rollout_steps(self) -> int:
        return self.n_steps * self.n_envs


@dataclass
class DQNConfig(SB3RunConfig):
    """stable-baselines3 DQN: SB3's defaults, RL Zoo's keys, rlsuite's run settings."""

    algo: ClassVar[str] = "dqn"
    sb3_class: ClassVar[str] = "DQN"
    SEARCH_SPACE: ClassVar[dict[str, dict[str, Any]]] = {
        "learning_rate": {"low": 1e-4, "high": 3e-3, "log": True}, "batch_size": {"choices": [32, 64, 128]},
        "train_freq": {"choices": [1, 4, 8]}, "target_update_interval": {"choices": [250, 500, 1000, 2000]},
        "exploration_fraction": {"low": 0.05, "high": 0.5}, "learning_starts": {"choices": [0, 500, 1000]}}  # fmt: skip

    learning_rate: float | str = option(1e-4, help="Adam step size, or 'lin_<x>'", gt=0)
    buffer_size: int = option(1_000_000, help="replay buffer capacity (transitions)", ge=1)
    learning_starts: int = option(100, help="env steps before the first gradient step", ge=0)
    batch_size: int = option(32, help="minibatch size", ge=1)
    tau: float = option(1.0, help="target network soft update coefficient (1: hard copy)", gt=0.0, le=1.0)
    gamma: float = shared("gamma")
    train_freq: int = option(4, help="update the network every this many steps (or episodes)", ge=1)
    train_freq_unit: Literal["step", "episode"] = option("step", help="the unit of train_freq")
    gradient_steps: int = option(1, help="gradient steps per update (-1: as many as env steps)", ge=-1)
    optimize_memory_usage: bool = option(False, help="SB3's memory-efficient replay buffer variant")
    n_steps: int = option(1, help="n-step returns", ge=1)
    target_update_interval: int = option(10_000, help="env steps between target network updates", ge=1)
    exploration_fraction: float = option(0.1, help="share of training over which epsilon decays", ge=0.0, le=1.0)
    exploration_initial_eps: float = option(1.0, help="initial epsilon", ge=0.0, le=1.0)
    exploration_final_eps: float = option(0.05, help="final epsilon", ge=0.0, le=1.0)
    max_grad_norm: float = option(10.0, help="gradient clipping norm", gt=0.0)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.gradient_steps == 0:
            raise config_error(self, "gradient_steps", "0 would never train; give >= 1 or -1")

    def adjust_sb3_kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        kwargs["train_freq"] = (kwargs.pop("train_freq"), kwargs.pop("train_freq_unit"))
        return kwargs


# ----- sb3-contrib's discrete-action algorithms -----
@dataclass
class QRDQNConfig(DQNConfig):
    """sb3-contrib QR-DQN: DQN's settings with QR-DQN's own defaults (policy_kwargs n_quantiles: 200)."""

    algo: ClassVar[str] = "qrdqn"
    sb3_class: ClassVar[str] = "QRDQN"
    sb3_module: ClassVar[str] = "sb3_contrib"

    learning_rate: float | str = option(5e-5, help="Adam step size, or 'lin_<x>'", gt=0)
    exploration_fraction: float = option(0.005, help="share of training over which epsilon decays", ge=0.0, le=1.0)
    exploration_final_eps: float = option(0.01, help="final epsilon", ge=0.0, le=1.0)
    max_grad_norm: float | None = option(None, help="gradient clipping norm (None: no clipping)", gt=0.0)


@dataclass
class TRPOConfig(SB3RunConfig):
    """sb3-contrib TRPO: its defaults, RL Zoo's keys, rlsuite's run settings."""

    algo: ClassVar[str] = "trpo"
    sb3_class: ClassVar[str] = "TRPO"
    sb3_module: ClassVar[str] = "sb3_contrib"
    SEARCH_SPACE: ClassVar[dict[str, dict[str, Any]]] = {
        "learning_rate": {"low": 1e-4, "high": 3e-3, "log": True}, "n_steps": {"choices": [32, 64, 128, 256]},
        "gae_lambda": {"low": 0.8, "high": 1.0}, "target_kl": {"low": 0.005, "high": 0.05, "log": True},
        "n_critic_updates": {"low": 1, "high": 20}}  # fmt: skip

    learning_rate: float | str = option(1e-3, help="the value function's Adam step size, or 'lin_<x>'", gt=0)
    n_steps: int = option(2048, help="env steps per env between updates", ge=2)
    batch_size: int = option(128, help="minibatch size of the value function's updates", ge=2)
    gamma: float = shared("gamma")
    cg_max_steps: int = option(15, help="conjugate gradient steps for the natural gradient", ge=1)
    cg_damping: float = option(0.1, help="damping of the Hessian-vector product", ge=0.0)
    line_search_shrinking_factor: float = option(0.8, help="step shrink per line-search try", gt=0.0, lt=1.0)
    line_search_max_iter: int = option(10, help="line-search tries", ge=1)
    n_critic_updates: int = option(10, help="value function updates per rollout", ge=1)
    gae_lambda: float = shared("gae_lambda")
    use_sde: bool = shared("use_sde")
    sde_sample_freq: int = shared("sde_sample_freq")
    normalize_advantage: bool = option(True, help="normalise advantages")
    target_kl: float = option(0.01, help="the trust region: the KL bound of one policy update", gt=0.0)
    sub_sampling_factor: int = option(1, help="use every k-th sample of a rollout for the policy step", ge=1)

    def rollout_steps(self) -> int:
        return self.n_steps * self.n_envs


@dataclass
class MaskablePPOConfig(PPOBaseConfig):
    """sb3-contrib MaskablePPO: PPO's settings but gSDE (its actions are Discrete) and the action mask.

    Every env is wrapped in :class:`rlsuite.envs.wrappers.ValidActionMask`: by default the grid
    world's moves that would leave the grid or enter a forbidden cell are masked, in training and in
    greedy evaluation.
    """

    algo: ClassVar[str] = "maskable_ppo"
    sb3_class: ClassVar[str] = "MaskablePPO"
    sb3_module: ClassVar[str] = "sb3_contrib"
    RUN_FIELDS: ClassVar[tuple[str, ...]] = (*SB3RunConfig.RUN_FIELDS, "action_mask")

    action_mask: Literal["off", "boundary", "boundary_forbidden"] = option(
        "boundary_forbidden",
        help="mask the grid world's moves (from its exact model) that leave the grid and enter forbidden cells "
        "(boundary_forbidden), only those that leave the grid (boundary), or none (off)",
    )


@dataclass
class RecurrentPPOConfig(PPOConfig):
    """sb3-contrib RecurrentPPO: PPO with an LSTM (policy_kwargs lstm_hidden_size, n_lstm_layers, ...)."""

    algo: ClassVar[str] = "recurrent_ppo"
    sb3_class: ClassVar[str] = "RecurrentPPO"
    sb3_module: ClassVar[str] = "sb3_contrib"
    DEFAULT_ROLLOUT: ClassVar[int] = 128
    POLICY_NAMES: ClassVar[dict[str, str]] = {
        name: name.replace("Policy", "LstmPolicy") for name in ("MlpPolicy", "CnnPolicy", "MultiInputPolicy")
    }

    n_steps: int | None = option(
        None, help="env steps per env between updates; default: 128 for one env, split over n_envs (at least 8)", ge=1
    )
    batch_size: int = option(128, help="minibatch size", ge=2)


@dataclass
class ARSConfig(SB3RunConfig):
    """sb3-contrib ARS: random search over the policy's parameters (no gradients, no optimiser).

    ARS's own ``n_eval_episodes`` (episodes per candidate) is ``candidate_episodes`` here, since
    ``n_eval_episodes`` is rlsuite's evaluation setting. ``policy_kwargs: {net_arch: []}`` gives
    RL Zoo's linear policy.
    """

    algo: ClassVar[str] = "ars"
    sb3_class: ClassVar[str] = "ARS"
    sb3_module: ClassVar[str] = "sb3_contrib"
    SEARCH_SPACE: ClassVar[dict[str, dict[str, Any]]] = {
        "learning_rate": {"low": 0.005, "high": 0.2, "log": True}, "delta_std": {"low": 0.01, "high": 0.3, "log": True},
        "n_delta": {"choices": [4, 8, 16]}}  # fmt: skip
    RENAMED: ClassVar[dict[str, str]] = {"candidate_episodes": "n_eval_episodes"}
    RUN_FIELDS: ClassVar[tuple[str, ...]] = (*SB3RunConfig.RUN_FIELDS, "gamma")

    gamma: float = option(
        0.99, help="discount of the exact evaluation (v_pi against v*); ARS itself maximises undiscounted returns",
        ge=0.0, le=1.0,
    )  # fmt: skip
    n_delta: int = option(8, help="random directions per update (2 x n_delta candidate policies)", ge=1)
    n_top: int | None = option(None, help="best directions kept for the update (None: all n_delta)", ge=1)
    learning_rate: float | str = option(0.02, help="step size, or 'lin_<x>'", gt=0)
    delta_std: float = option(0.05, help="standard deviation of the parameter noise", gt=0.0)
    zero_policy: bool = option(True, help="start from all-zero parameters")
    alive_bonus_offset: float = option(0.0, help="added to each step's reward while searching (not in the logs)")
    candidate_episodes: int = option(1, help="episodes per candidate policy (ARS's n_eval_episodes)", ge=1)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.n_top is not None and self.n_top > self.n_delta:
            raise config_error(self, "n_top", f"{self.n_top} > n_delta {self.n_delta}: keep at most n_delta directions")

    def adjust_sb3_kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        for ours, theirs in self.RENAMED.items():
            kwargs[theirs] = kwargs.pop(ours)
        return kwargs


CONFIGS: dict[str, type[SB3RunConfig]] = {"ppo": PPOConfig, "a2c": A2CConfig, "dqn": DQNConfig}
CONFIGS |= {"qrdqn": QRDQNConfig, "trpo": TRPOConfig, "maskable_ppo": MaskablePPOConfig,
            "recurrent_ppo": RecurrentPPOConfig, "ars": ARSConfig}  # fmt: skip
