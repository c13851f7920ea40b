"""rlsuite.alignment.training's wiring to the letter, in seconds (mutation testing): each ``train_<method>`` hands
TRL's trainer class, the policy and the data it was given to the shared body; the body builds the trainer with
the arguments it names; rewards, trust and placement reach the calls they configure. The models, loaders and TRL
trainers are spies here; tests/alignment/test_training.py trains them for real (seconds to minutes a mutant)."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

pytest.importorskip("trl")

import torch
from recording import Spy

from rlsuite.alignment import training as T
from rlsuite.alignment.configs import ModelConfig
from rlsuite.alignment.data import gold_reward_func, unpair
from rlsuite.alignment.models import RewardModelFunc
from rlsuite.common.errors import ConfigError, TrainingDivergedError

PAIRS = [{"prompt": "p", "chosen": " good", "rejected": " bad"}, {"prompt": "q", "chosen": " nice", "rejected": " no"}]


@pytest.fixture
def body(monkeypatch: pytest.MonkeyPatch) -> dict[str, Spy]:
    """``_policy`` and ``_fit`` as spies: what each train function hands them."""
    found = {"_policy": Spy(("policy", "tok")), "_fit": Spy({"global_steps": 3})}
    for name, spy in found.items():
        monkeypatch.setattr(T, name, spy)
    return found


def _trainer(module: str, name: str) -> Any:
    import importlib

    return getattr(importlib.import_module(module), name)


OFFLINE = {
    "train_sft": ("trl", "SFTTrainer", False),
    "train_dpo": ("trl", "DPOTrainer", False),
    "train_kto": ("trl", "KTOTrainer", True),
    "train_orpo": ("trl.experimental.orpo", "ORPOTrainer", False),
    "train_simpo": ("trl.experimental.cpo", "CPOTrainer", False),
    "train_bco": ("trl.experimental.bco", "BCOTrainer", True),
}


@pytest.mark.parametrize("name", sorted(OFFLINE))
def test_an_offline_method_fits_its_trl_trainer_on_its_data(name: str, body: dict[str, Spy]) -> None:
    module, cls, unpaired = OFFLINE[name]
    config, model_config = SimpleNamespace(), ModelConfig(trust_pickle=True)
    assert getattr(T, name)("/m", PAIRS, config, model_config, resume=True) == {"global_steps": 3}
    assert body["_policy"].calls == [((config, "/m", model_config), {})]
    data = unpair(PAIRS) if unpaired else PAIRS
    assert body["_fit"].calls == [((_trainer(module, cls), config, "policy", "tok", data, model_config, True), {})]
    getattr(T, name)("/m", PAIRS, config)
    assert body["_fit"].calls[1][0][5:] == (None, False)


ONLINE = {
    "train_rloo": ("trl", "RLOOTrainer"),
    "train_grpo": ("trl", "GRPOTrainer"),
    "train_online_dpo": ("trl.experimental.online_dpo", "OnlineDPOTrainer"),
}


@pytest.mark.parametrize("name", sorted(ONLINE))
def test_an_online_method_fits_its_trl_trainer_on_the_prompts_with_the_reward(name: str, body: dict[str, Spy]) -> None:
    config = SimpleNamespace(reward_model_path="gold", METHOD=name)
    model_config = ModelConfig()
    assert getattr(T, name)("/m", ["a", "b"], config, None, model_config, resume=True) == {"global_steps": 3}
    assert body["_policy"].calls == [((config, "/m", model_config), {})]
    assert body["_fit"].calls == [(
        (_trainer(*ONLINE[name]), config, "policy", "tok", [{"prompt": "a"}, {"prompt": "b"}], model_config, True),
        {"reward_funcs": gold_reward_func})]  # fmt: skip
    # Online DPO: TRL would load the reward model's folder itself; rlsuite gives it as a function instead
    assert config.reward_model_path == (None if name == "train_online_dpo" else "gold")
    reward = Spy([1.0])
    getattr(T, name)("/m", ["a"], SimpleNamespace(reward_model_path=None, METHOD=name), reward)
    assert body["_fit"].calls[1][0][5:] == (None, False) and body["_fit"].calls[1][1] == {"reward_funcs": reward}


def test_an_online_method_without_a_reward_is_refused_naming_the_setting(body: dict[str, Spy]) -> None:
    class GRPOConfig:
        reward_model_path = None
        METHOD = "grpo"

    with pytest.raises(ConfigError) as caught:
        T.train_grpo("/m", ["a"], GRPOConfig())  # type: ignore[arg-type]
    assert str(caught.value) == "GRPOConfig.reward_model_path: grpo needs a reward (a reward-model folder or gold)"
    assert caught.value.field == "reward_model_path"
    assert body["_policy"].calls == []


def test_the_given_reward_wins_over_the_configs_and_a_folder_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    check = Spy()
    monkeypatch.setattr(T, "check_reward_model", check)
    config = SimpleNamespace(reward_model_path="/config-rm", METHOD="rloo")
    assert T._given_reward("/given", config, "RLOOConfig", True) == "/given"
    assert T._given_reward(None, config, "RLOOConfig") == "/config-rm"
    assert check.calls == [(("/given", True), {}), (("/config-rm", False), {})]
    T.check_reward("gold")
    T.check_reward(gold_reward_func)
    assert len(check.calls) == 2  # gold and a callable need no folder


def test_a_reward_is_a_function_gold_or_a_loaded_reward_model(monkeypatch: pytest.MonkeyPatch) -> None:
    load = Spy("rm")
    monkeypatch.setattr(RewardModelFunc, "load", load)
    assert T.reward_function(len) is len
    assert T.reward_function("gold") is gold_reward_func and T.reward_function(Path("gold")) is gold_reward_func
    assert T.reward_function("/rm", True) == "rm" and T.reward_function(Path("/rm2")) == "rm"
    assert load.calls == [(("/rm",), {"trust_pickle": True}), ((Path("/rm2"),), {"trust_pickle": False})]


def test_trust_in_pickles_is_the_model_configs() -> None:
    assert T._trusted(ModelConfig(trust_pickle=True)) is True
    assert T._trusted(ModelConfig()) is False and T._trusted(None) is False


def test_the_policy_is_loaded_after_threads_and_seeds_with_the_trust_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    order: list[str] = []
    prepare = Spy(lambda config: order.append("prepare"))
    load = Spy(lambda *a, **k: order.append("load") or ("model", "tok"))
    monkeypatch.setattr(T, "prepare", prepare)
    monkeypatch.setattr(T, "load_causal_lm", load)
    config, plain = SimpleNamespace(trust_remote_code=True), SimpleNamespace()
    assert T._policy(config, "/m", ModelConfig(trust_pickle=True)) == ("model", "tok")
    assert T._policy(plain, "/n", None) == ("model", "tok")
    assert order == ["prepare", "load"] * 2
    assert prepare.calls == [((config,), {}), ((plain,), {})]
    assert load.calls == [(("/m", True), {"trust_pickle": True}), (("/n", False), {"trust_pickle": False})]


def test_prepare_sets_the_threads_and_the_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    import transformers

    threads, seed = Spy(4), Spy()
    monkeypatch.setattr(T, "set_torch_threads", threads)
    monkeypatch.setattr(transformers, "set_seed", seed)
    assert T.prepare(SimpleNamespace(torch_threads=2, seed=7)) == 4
    assert T.prepare(SimpleNamespace(seed=8)) == 4
    assert threads.calls == [((2,), {}), ((0,), {})] and seed.calls == [((7,), {}), ((8,), {})]


def test_the_reward_model_is_fitted_from_the_policy_with_a_scalar_head(monkeypatch: pytest.MonkeyPatch) -> None:
    import transformers
    from trl import RewardTrainer

    model = SimpleNamespace(config=SimpleNamespace(pad_token_id=None))
    spies = {"prepare": Spy(), "check_causal_lm": Spy(), "load_tokenizer": Spy(SimpleNamespace(pad_token_id=5)),
             "_fit": Spy({"global_steps": 1})}  # fmt: skip
    for name, spy in spies.items():
        monkeypatch.setattr(T, name, spy)
    build = Spy(model)
    monkeypatch.setattr(transformers.AutoModelForSequenceClassification, "from_pretrained", build)
    config, model_config = SimpleNamespace(), ModelConfig(trust_pickle=True)
    assert T.train_reward(Path("/m"), PAIRS, config, model_config, resume=True) == {"global_steps": 1}
    assert spies["prepare"].calls == [((config,), {})]
    assert spies["check_causal_lm"].calls == [((Path("/m"),), {"trust_pickle": True})]
    assert spies["load_tokenizer"].calls == [((Path("/m"),), {})]
    assert build.calls == [(("/m",), {"num_labels": 1, "local_files_only": True})]
    assert model.config.pad_token_id == 5
    tok = spies["load_tokenizer"].value
    assert spies["_fit"].calls == [((RewardTrainer, config, model, tok, PAIRS, model_config, True), {})]
    T.train_reward("/m", PAIRS, config)
    assert spies["_fit"].calls[1][0][5:] == (None, False)
    assert spies["check_causal_lm"].calls[1] == (("/m",), {"trust_pickle": False})


class _Trainer:
    """A trainer class's stand-in: keeps its arguments; its accelerator is on ``device``."""

    device = torch.device("cpu")

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.accelerator = SimpleNamespace(device=self.device)


def test_the_shared_body_builds_the_trainer_and_runs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    run = Spy({"global_steps": 2})
    monkeypatch.setattr(T, "run_trainer", run)
    config = SimpleNamespace()
    got = T._fit(_Trainer, config, "model", "tok", iter(PAIRS), None, True, reward_funcs=None, extra=1)
    assert got == {"global_steps": 2}
    (trainer, cfg, resume), kwargs = run.calls[0]
    assert (cfg, resume, kwargs) == (config, True, {})
    dataset = trainer.kwargs.pop("train_dataset")
    assert dataset.to_list() == PAIRS
    assert trainer.kwargs == {"model": "model", "args": config, "processing_class": "tok", "peft_config": None,
                              "reward_funcs": None, "extra": 1}  # fmt: skip
    lora = ModelConfig(use_peft=True, lora_r=4)
    T._fit(_Trainer, config, "model", "tok", PAIRS, lora, False)
    peft = run.calls[1][0][0].kwargs["peft_config"]
    assert peft is not None and peft.r == 4 and run.calls[1][0][2] is False


def _reward_model(monkeypatch: pytest.MonkeyPatch) -> tuple[RewardModelFunc, Spy]:
    to = Spy()
    monkeypatch.setattr(RewardModelFunc, "to", to)
    return object.__new__(RewardModelFunc), to


@pytest.mark.parametrize("as_list", [False, True])
def test_reward_models_go_to_the_trainings_device_in_float32_on_the_cpu(
    monkeypatch: pytest.MonkeyPatch, as_list: bool
) -> None:
    func, to = _reward_model(monkeypatch)
    trainer = _Trainer()
    T._place_reward_models(trainer, SimpleNamespace(), [gold_reward_func, func] if as_list else func)
    assert to.calls == [(((torch.device("cpu"), torch.float32),), {})]
    T._place_reward_models(trainer, SimpleNamespace(), gold_reward_func)
    assert len(to.calls) == 1


def test_reward_models_on_a_gpu_take_the_trainings_dtype(monkeypatch: pytest.MonkeyPatch) -> None:
    func, to = _reward_model(monkeypatch)
    placement = Spy(("cuda", torch.bfloat16))
    monkeypatch.setattr(T, "placement_of", placement)
    trainer, config = _Trainer(), SimpleNamespace(bf16=True)
    trainer.accelerator.device = torch.device("cuda", 1)  # only its type is read: no GPU needed
    T._place_reward_models(trainer, config, [func])
    assert placement.calls == [((config,), {})]
    assert to.calls == [(((torch.device("cuda", 1), torch.bfloat16),), {})]


def test_the_cpu_placement_does_not_ask_the_trainings_dtype(monkeypatch: pytest.MonkeyPatch) -> None:
    func, to = _reward_model(monkeypatch)
    placement = Spy(("cuda", torch.bfloat16))
    monkeypatch.setattr(T, "placement_of", placement)
    T._place_reward_models(_Trainer(), SimpleNamespace(bf16=True), func)
    assert placement.calls == [] and to.calls == [(((torch.device("cpu"), torch.float32),), {})]


def test_the_shared_body_places_the_reward_models_it_was_given(monkeypatch: pytest.MonkeyPatch) -> None:
    func, to = _reward_model(monkeypatch)
    placement = Spy(("cuda", torch.bfloat16))
    monkeypatch.setattr(T, "placement_of", placement)
    monkeypatch.setattr(T, "run_trainer", Spy({}))

    class _OnGPU(_Trainer):
        device = torch.device("cuda", 0)  # only its type is read: no GPU needed

    config = SimpleNamespace(bf16=True)
    T._fit(_OnGPU, config, "model", "tok", PAIRS, None, False, reward_funcs=[gold_reward_func, func])
    assert placement.calls == [((config,), {})]
    assert to.calls == [(((torch.device("cuda", 0), torch.bfloat16),), {})]


def test_weights_holding_nan_or_inf_are_refused_naming_the_weight() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 1))
    T._check_finite(model, Path("/out"), 3)  # finite: nothing said
    with torch.no_grad():
        model[1].bias[0] = float("inf")
    with pytest.raises(TrainingDivergedError) as caught:
        T._check_finite(model, Path("/out"), 3)
    assert str(caught.value) == (
        "/out: training diverged: weight 1.bias holds NaN/inf after step 3 (learning rate too high?); not saved, "
        "not finished (rerun with --overwrite and other settings)"
    )
    with torch.no_grad():
        model[0].weight[1, 0] = float("nan")
    with pytest.raises(TrainingDivergedError, match=r"weight 0\.weight holds NaN/inf after step 4 "):
        T._check_finite(model, Path("/out"), 4)


def test_logged_values_are_read_from_the_log_history() -> None:
    metrics = {"log_history": [{"loss": 1.0}, {"reward": 2.0}, {"loss": 0.5, "reward": 3.0}]}
    assert T.losses(metrics) == [1.0, 0.5] and T.losses(metrics, "reward") == [2.0, 3.0] and T.losses({}) == []


def test_printed_lines_of_trl_go_to_its_logger(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="trl.stdout"), T._stdout_to_log():
        print("one\n \t\n\ntwo", end="")  # blank lines are not logged
        print("")
    assert [r.getMessage() for r in caplog.records if r.name == "trl.stdout"] == ["one", "two"]


# ---------------------------------------------------------------------------------------------
# PPO: its own trainer, with a value model and a reference


@pytest.fixture
def ppo(monkeypatch: pytest.MonkeyPatch) -> dict[str, Spy]:
    from trl.experimental import ppo as trl_ppo

    found = {
        "check_reward_model": Spy(),
        "_policy": Spy(("policy", "tok")),
        "load_causal_lm": Spy(("ref", "tok2")),
        "load_reward_model": Spy(lambda path, trust_pickle: (f"rm {len(found['load_reward_model'].calls)}", None)),
        "prompt_ids": Spy(lambda tok, p: [ord(c) for c in p]),
        "run_trainer": Spy({"global_steps": 4}),
    }
    for name, spy in found.items():
        monkeypatch.setattr(T, name, spy)
    found["PPOTrainer"] = Spy(lambda **kwargs: SimpleNamespace(**kwargs))
    monkeypatch.setattr(trl_ppo, "PPOTrainer", found["PPOTrainer"])
    return found


def _ppo_config(tmp_path: Path, **kw: Any) -> SimpleNamespace:
    values = {"reward_model_path": None, "output_dir": str(tmp_path / "ppo"), "per_device_train_batch_size": 2,
              "gradient_accumulation_steps": 2, "total_episodes": None, "seed": 3, "response_length": 5}  # fmt: skip
    return SimpleNamespace(**{**values, **kw})


def test_ppo_builds_its_trainer_from_the_policy_a_reference_and_two_reward_models(
    ppo: dict[str, Spy], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = _ppo_config(tmp_path, total_episodes=5)
    model_config = ModelConfig(trust_pickle=True, use_peft=True, lora_r=4)
    (tmp_path / "ppo").mkdir()
    (tmp_path / "ppo" / "left").write_text("")
    with caplog.at_level(logging.INFO, logger=T.log.name):
        assert T.train_ppo(Path("/m"), ["ab", "c"], config, "/rm", model_config, resume=True) == {"global_steps": 4}
    note = "TRL's PPOTrainer cannot resume mid-run; PPO starts again from the starting policy"
    assert [r.getMessage() for r in caplog.records if r.name == T.log.name] == [f"{tmp_path / 'ppo'}: {note}"]
    assert ppo["check_reward_model"].calls == [(("/rm", True), {})]
    assert ppo["_policy"].calls == [((config, Path("/m"), model_config), {})]
    assert (config.sft_model_path, config.reward_model_path) == ("/m", "/rm")
    assert ppo["load_causal_lm"].calls == [((Path("/m"),), {"trust_pickle": True})]
    assert ppo["load_reward_model"].calls == [(("/rm",), {"trust_pickle": True})] * 2
    assert ppo["prompt_ids"].calls == [(("tok", "ab"), {}), (("tok", "c"), {})]
    (_, kwargs), = ppo["PPOTrainer"].calls  # fmt: skip
    dataset = kwargs.pop("train_dataset")
    ids = [[97, 98], [99], [97, 98], [99], [97, 98]]  # repeated to cover the 5 episodes
    assert dataset.to_list() == [{"input_ids": x} for x in ids]
    assert kwargs.pop("peft_config").r == 4  # LoRA, as the model config asks
    assert kwargs == {"args": config, "processing_class": "tok", "model": "policy", "ref_model": "ref",
                      "reward_model": "rm 1", "value_model": "rm 2"}  # fmt: skip
    (trainer, cfg), run_kwargs = ppo["run_trainer"].calls[0]
    assert cfg is config and run_kwargs["resume"] is False and run_kwargs["tokens"] == int(5 * (8 / 5 + 5))
    trainer.accelerator = SimpleNamespace(is_main_process=True, unwrap_model=lambda m: m)
    trainer.model = SimpleNamespace(policy=SimpleNamespace(save_pretrained=Spy()))
    run_kwargs["save"](tmp_path / "saved")
    assert trainer.model.policy.save_pretrained.calls == [((str(tmp_path / "saved"),), {})]


def test_ppo_covers_at_least_one_batch_and_its_tokens_bound_uses_the_prompts(
    ppo: dict[str, Spy], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = _ppo_config(tmp_path, reward_model_path="/config-rm")
    (tmp_path / "ppo").mkdir()
    (tmp_path / "ppo" / "left").write_text("")
    with caplog.at_level(logging.INFO, logger=T.log.name):
        T.train_ppo("/m", ["abc"], config)  # no reward given: the config's; not resuming: no note
    assert "cannot resume" not in caplog.text
    assert ppo["PPOTrainer"].calls[0][1]["peft_config"] is None
    assert ppo["check_reward_model"].calls == [(("/config-rm", False), {})]
    dataset = ppo["PPOTrainer"].calls[0][1]["train_dataset"]
    assert len(dataset) == 4  # one prompt, a batch of 2 x 2
    assert ppo["run_trainer"].calls[0][1]["tokens"] == 4 * (3 + 5)
    config = _ppo_config(tmp_path, reward_model_path="/config-rm", total_episodes=2)
    T.train_ppo("/m", ["abc", "d", "ef", "g", "hi", "j"], config)
    assert len(ppo["PPOTrainer"].calls[1][1]["train_dataset"]) == 6  # never fewer than the prompts
    assert ppo["run_trainer"].calls[1][1]["tokens"] == int(2 * (10 / 6 + 5))


@pytest.mark.parametrize("reward", [None, "gold", gold_reward_func])
def test_ppo_needs_a_reward_model_folder(ppo: dict[str, Spy], tmp_path: Path, reward: Any) -> None:
    with pytest.raises(ConfigError) as caught:
        T.train_ppo("/m", ["a"], _ppo_config(tmp_path), reward)
    assert str(caught.value) == ("PPOConfig.reward_model_path: PPO needs a reward-model folder (its value model "
                                 "starts from it)")  # fmt: skip
    assert caught.value.field == "reward_model_path" and ppo["_policy"].calls == []


def test_ppo_saves_its_policy_from_the_main_process_only() -> None:
    save = Spy()
    model = SimpleNamespace(policy=SimpleNamespace(save_pretrained=save))
    unwrap = Spy(lambda m: model)
    trainer = SimpleNamespace(model="wrapped", accelerator=SimpleNamespace(is_main_process=False, unwrap_model=unwrap))
    T._save_ppo_policy(trainer, Path("/p"))
    assert save.calls == []
    trainer.accelerator.is_main_process = True
    T._save_ppo_policy(trainer, Path("/p"))
    assert unwrap.calls == [(("wrapped",), {})] and save.calls == [(("/p",), {})]


def test_metrics_are_read_only_from_a_finished_folder(tmp_path: Path) -> None:
    assert T.read_metrics(tmp_path / "missing") is None
    (tmp_path / T.METRICS).write_text('{"global_steps": 2}')
    assert T.read_metrics(tmp_path) is None  # no model/ beside them: not finished
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text("{}")
    assert T.read_metrics(tmp_path) == {"global_steps": 2}
    (tmp_path / T.METRICS).write_text('{"global_steps": ')  # cut short by a crash
    assert T.read_metrics(tmp_path) is None
    (tmp_path / T.METRICS).unlink()
    assert T.read_metrics(str(tmp_path)) is None  # a model without metrics: not finished either


def _checkpoint(folder: Path, valid: bool = True) -> Path:
    from safetensors.torch import save_file

    folder.mkdir(parents=True)
    (folder / "trainer_state.json").write_text('{"global_step": 1}' if valid else '{"global_st')
    save_file({"w": torch.zeros(2)}, str(folder / "model.safetensors"))
    return folder


def test_the_newest_valid_checkpoint_is_found_and_broken_newer_ones_moved_aside(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = _checkpoint(tmp_path / "checkpoint-5")
    _checkpoint(tmp_path / "checkpoint-9", valid=False)
    (tmp_path / "checkpoint-9.incomplete").mkdir()  # an earlier crash's, replaced by this one
    (tmp_path / "checkpoint-9.incomplete" / "old").write_text("x")
    (tmp_path / "12").mkdir()  # not a checkpoint's name: left alone
    (tmp_path / "checkpoint-7").write_text("a file, not a checkpoint")
    with caplog.at_level(logging.WARNING, logger=T.log.name):
        assert T.newest_checkpoint(tmp_path) == good
    assert [r.getMessage() for r in caplog.records if r.name == T.log.name] == [
        "resume: skipped checkpoint-9 (incomplete: a crash during its save?), moved to checkpoint-9.incomplete"
    ]
    assert sorted(p.name for p in (tmp_path / "checkpoint-9.incomplete").iterdir()) == [
        "model.safetensors", "trainer_state.json"]  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "12", "checkpoint-5", "checkpoint-7", "checkpoint-9.incomplete"]  # fmt: skip


def test_without_a_valid_checkpoint_there_is_none_to_resume(tmp_path: Path) -> None:
    assert T.newest_checkpoint(tmp_path / "missing") is None
    _checkpoint(tmp_path / "checkpoint-3", valid=False)
    assert T.newest_checkpoint(tmp_path) is None and (tmp_path / "checkpoint-3.incomplete").is_dir()


def test_a_reward_folder_is_checked_and_loaded_with_the_trust_given(
    body: dict[str, Spy], monkeypatch: pytest.MonkeyPatch
) -> None:
    check, load = Spy(), Spy("rm")
    monkeypatch.setattr(T, "check_reward_model", check)
    monkeypatch.setattr(RewardModelFunc, "load", load)
    T.check_reward("/f")
    assert check.calls == [(("/f", False), {})]
    config = SimpleNamespace(reward_model_path=None, METHOD="rloo")
    T.train_rloo("/m", ["a"], config, "/rm", ModelConfig(trust_pickle=True))
    assert check.calls[1:] == [(("/rm", True), {})] and load.calls == [(("/rm",), {"trust_pickle": True})]
    assert body["_fit"].calls[0][1] == {"reward_funcs": "rm"}
