"""VLMPolicy and the yes/no reward on a tiny Llava built from configs, saved and reloaded."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

import rlsuite.envs  # noqa: F401
from rlsuite.vision.models import build_tiny_llava
from rlsuite.vision.policies import GOAL_PROMPT, VLMPolicy, VLMYesNoReward, parse_action


@pytest.fixture(scope="module")
def tiny_llava_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-llava")
    torch.manual_seed(0)
    model, processor = build_tiny_llava(hidden=32, layers=1)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def frames():
    env = gym.make("rlsuite/PixelGridWorldRandom-v0")
    return np.stack([env.reset(seed=s)[0] for s in range(3)])


def test_parse_action():
    assert parse_action("I would go Left now") == 3
    assert parse_action("stay. up") == 4
    assert parse_action("upward") is None and parse_action("") is None


def test_scoring_is_one_batched_differentiable_distribution(tiny_llava_dir, frames):
    policy = VLMPolicy.from_pretrained(tiny_llava_dir, device="cpu")
    dist, value = policy(frames)
    assert isinstance(dist, torch.distributions.Categorical)
    assert dist.probs.shape == (3, 5) and value.shape == (3,)
    torch.testing.assert_close(dist.probs.sum(-1), torch.ones(3))
    # Gradients reach the language model and the value head (PPO needs both).
    (dist.log_prob(torch.tensor([0, 1, 2])).sum() + value.sum()).backward()
    assert policy.model.get_input_embeddings().weight.grad.abs().sum() > 0
    assert policy.value_head.weight.grad.abs().sum() > 0
    # Batched scores equal one-at-a-time scores.
    with torch.no_grad():
        one = torch.cat([policy(f)[0].logits for f in frames])
        torch.testing.assert_close(policy(frames)[0].logits, one, atol=1e-4, rtol=1e-4)
    # SB3-style predict: one observation -> one action, a batch -> a batch.
    a, state = policy.predict(frames[0])
    assert state is None and 0 <= int(a) < 5
    assert policy.predict(frames)[0].shape == (3,)


def test_the_action_distribution_follows_the_frame(tiny_llava_dir):
    """Each frame's own pixels reach the model, and frames with the agent in different cells get different
    distributions (a policy fed a constant image would give every frame the same one)."""
    policy = VLMPolicy.from_pretrained(tiny_llava_dir, device="cpu")
    env = gym.make("rlsuite/PixelGridWorld-v0")
    first, _ = env.reset(seed=0)
    frames = np.stack([first, env.step(1)[0], env.step(2)[0]])  # agent at (0, 0), (0, 1), (1, 1)
    assert len({f.tobytes() for f in frames}) == 3
    seen = []
    hook = policy.model.register_forward_pre_hook(
        lambda module, args, kwargs: seen.append(kwargs["pixel_values"].clone()), with_kwargs=True
    )
    with torch.no_grad():
        logits = policy(frames)[0].logits
        one = torch.cat([policy(f)[0].logits for f in frames])
    hook.remove()
    expected = policy.processor.image_processor(images=list(frames), return_tensors="pt")["pixel_values"]
    torch.testing.assert_close(seen[0], expected, rtol=0, atol=0)
    for b in range(3):
        torch.testing.assert_close(seen[1 + b], expected[b : b + 1], rtol=0, atol=0)
    torch.testing.assert_close(logits, one, rtol=0, atol=1e-5)
    # Measured on this untrained model: the rows differ by 4e-4 to 5e-4; a constant image makes them equal.
    for i, j in ((0, 1), (0, 2), (1, 2)):
        assert (logits[i] - logits[j]).abs().max() > 1e-4


def test_multi_token_actions_are_teacher_forced_sums(tiny_llava_dir, frames):
    policy = VLMPolicy.from_pretrained(
        tiny_llava_dir, device="cpu", actions=["move up", "move right", "move down", "move left", "stay here"]
    )
    with torch.no_grad():
        dist, _ = policy(frames[:1])
        enc = policy._encode([frames[0]], [policy.prompt])
        manual = []
        for ids in policy._action_ids:
            seq = torch.cat([enc["input_ids"], torch.tensor([ids])], dim=1)
            mask = torch.ones_like(seq)
            logits = policy.model(input_ids=seq, attention_mask=mask, pixel_values=enc["pixel_values"]).logits
            lp = torch.log_softmax(logits[0, -len(ids) - 1 : -1], -1)
            manual.append(lp[torch.arange(len(ids)), torch.tensor(ids)].sum())
    torch.testing.assert_close(
        dist.logits[0], torch.log_softmax(torch.stack(manual), -1), atol=1e-4, rtol=1e-4
    )


def test_generation_mode_and_goal_prompts(tiny_llava_dir, frames):
    policy = VLMPolicy.from_pretrained(tiny_llava_dir, device="cpu")
    actions, texts = policy.generate_actions(frames, max_new_tokens=3)
    assert len(actions) == len(texts) == 3
    assert all(a == parse_action(t) for a, t in zip(actions, texts, strict=True))
    env = gym.make("rlsuite/PixelGoalGridWorld-v0")
    obs, info = env.reset(seed=0)
    goal_policy = VLMPolicy(policy.model, policy.processor, prompt=GOAL_PROMPT)
    _, prompts = goal_policy._frames_and_prompts(obs)
    assert info["instruction"] in prompts[0]
    assert 0 <= int(goal_policy.predict(obs)[0]) < 5


def test_yes_no_reward_is_the_log_odds(tiny_llava_dir, frames):
    judge = VLMYesNoReward.from_pretrained(tiny_llava_dir, goal="the agent is on the target", device="cpu")
    r = judge.rewards(frames)
    enc = judge.policy._encode(list(frames), [judge.policy.prompt] * 3)
    tok = judge.policy.processor.tokenizer
    with torch.no_grad():
        lp = torch.log_softmax(judge.policy.model(**enc).logits[:, -1], -1)
    yes, no = tok.convert_tokens_to_ids("yes"), tok.convert_tokens_to_ids("no")
    np.testing.assert_allclose(r, (lp[:, yes] - lp[:, no]).numpy(), atol=1e-4)
    assert "the agent is on the target" in judge.policy.prompt
    judge.set_goal("the agent is far away")
    assert "far away" in judge.policy.prompt


def test_save_and_reload_keeps_the_value_head(tiny_llava_dir, frames, tmp_path):
    policy = VLMPolicy.from_pretrained(tiny_llava_dir, device="cpu")
    torch.nn.init.constant_(policy.value_head.bias, 3.0)
    policy.save_pretrained(tmp_path)
    again = VLMPolicy.from_pretrained(tmp_path, device="cpu")
    with torch.no_grad():
        torch.testing.assert_close(again(frames)[1], policy(frames)[1])


def _tiny_train_setup(**overrides):
    from rlsuite.vision.finetune import VLMTrainConfig

    torch.manual_seed(0)
    config = VLMTrainConfig(eval_episodes=4, max_episode_steps=6, device="cpu", **overrides)
    model, processor = build_tiny_llava(image_size=64, hidden=32, layers=1)
    return config, VLMPolicy(model, processor, device="cpu")


def test_behaviour_cloning_fits_the_optimal_actions():
    from rlsuite.vision.finetune import behaviour_clone, exact_value_gap, success_rate

    config, policy = _tiny_train_setup(bc_layouts=2, bc_steps=80, bc_batch=15, bc_lr=3e-3, bc_warmup=5)
    bc = behaviour_clone(policy, config)
    assert bc["steps"] == 80 and bc["frames"] == 30  # every non-target cell of two 4x4 layouts
    assert bc["final_loss"] < bc["first_loss"] - 0.1
    assert bc["train_accuracy"] >= bc["initial_train_accuracy"] + 0.2
    assert 0.0 <= success_rate(policy, config.held_out()) <= 1.0
    assert exact_value_gap(policy, config.held_out(), config.gamma) >= -1e-9  # v* bounds every policy's value


def test_ppo_warms_up_the_value_head_then_updates_the_policy():
    from rlsuite.vision.finetune import ppo_finetune

    config, policy = _tiny_train_setup(
        ppo_updates=2, value_warmup=2, ppo_envs=8, ppo_steps=4, ppo_epochs=4, ppo_minibatches=2
    )
    trunk = [p.detach().clone() for p in policy.model.parameters()]
    warm = ppo_finetune(policy, config)
    assert [row["phase"] for row in warm["history"]] == ["value", "value"]
    # Fitting the head on a rollout lowers its loss on that rollout; the policy itself is untouched.
    assert all(row["value_loss"] < row["value_loss_first_epoch"] for row in warm["history"])
    assert all(torch.equal(a, b) for a, b in zip(trunk, policy.model.parameters(), strict=True))
    ppo = ppo_finetune(policy, config.replace(value_warmup=0, ppo_updates=1))
    assert ppo["history"][0]["phase"] == "ppo" and ppo["history"][0]["approx_kl"] > 0
    assert any(not torch.equal(a, b) for a, b in zip(trunk, policy.model.parameters(), strict=True))
    assert all(torch.isfinite(p).all() for p in policy.parameters())


@pytest.mark.slow
def test_default_vlm_policy_bars() -> None:
    """The issue's default tiny VLM: behaviour cloning makes it solve held-out layouts, PPO keeps that
    and brings the sampling policy closer to the optimum (about 2 minutes on 2 CPU cores)."""
    from rlsuite.vision.defaults import default_vlm_policy

    trained = default_vlm_policy(overwrite=True)
    policy, report = trained.model, trained.metrics
    assert report["success_untrained"] < 0.3
    assert report["success_after_bc"] >= 0.9
    assert report["success_after_ppo"] >= report["success_after_bc"] - 0.1
    assert report["value_gap_after_ppo"] < report["value_gap_after_bc"] < report["value_gap_untrained"]
    assert isinstance(policy, VLMPolicy)


# ----------------------------------------------------------------------------- exact values (mutation testing)
def _copy_with_processor_class(src, dst, name):
    import json
    import shutil

    shutil.copytree(src, dst)
    path = dst / "processor_config.json"
    settings = json.loads(path.read_text()) if path.is_file() else {}
    path.write_text(json.dumps({**settings, "processor_class": name}))
    return dst


def test_an_unknown_processor_class_is_refused_by_every_loader_unless_remote_code_is_trusted(tiny_llava_dir, tmp_path):
    from rlsuite.common.errors import ModelFolderError
    from rlsuite.vision.policies import _check_processor_class, load_vlm

    folder = _copy_with_processor_class(tiny_llava_dir, tmp_path / "m", "NoSuchProcessor")
    message = r"processor_config.json: processor_class 'NoSuchProcessor' is not a processor transformers knows"
    for load in (lambda: load_vlm(folder), lambda: VLMPolicy.from_pretrained(folder),
                 lambda: VLMYesNoReward.from_pretrained(folder, goal="x"),
                 lambda: _check_processor_class(folder, False)):  # fmt: skip
        with pytest.raises(ModelFolderError, match=message):
            load()
    _check_processor_class(folder, True)  # trusted: left to the folder's code
    _check_processor_class(_copy_with_processor_class(tiny_llava_dir, tmp_path / "k", "LlavaProcessor"), False)
    with pytest.raises(ModelFolderError, match="processor_class '1x'"):
        _check_processor_class(_copy_with_processor_class(tiny_llava_dir, tmp_path / "b", "1x"), False)


def test_load_vlm_defaults_and_dtypes(tiny_llava_dir, tmp_path):
    import shutil

    from safetensors.torch import load_file

    from rlsuite.common.errors import ModelFolderError
    from rlsuite.vision.policies import load_vlm

    auto_device, auto_dtype = ("cuda", torch.bfloat16) if torch.cuda.is_available() else ("cpu", torch.float32)
    model, _, dev, dtype = load_vlm(tiny_llava_dir)  # auto: CUDA in bfloat16 where there is one, else the CPU
    assert (dev.type, dtype) == (auto_device, auto_dtype) and {p.dtype for p in model.parameters()} == {auto_dtype}
    model, _, _, dtype = load_vlm(tiny_llava_dir, device="cpu", dtype="bfloat16")
    assert dtype == torch.bfloat16 and {p.dtype for p in model.parameters()} == {torch.bfloat16}
    pickled = tmp_path / "pickled"
    shutil.copytree(tiny_llava_dir, pickled, ignore=shutil.ignore_patterns("*.safetensors"))
    torch.save(load_file(str(tiny_llava_dir / "model.safetensors")), pickled / "pytorch_model.bin")
    for load in (lambda: load_vlm(pickled), lambda: VLMPolicy.from_pretrained(pickled)):
        with pytest.raises(ModelFolderError, match="holds only pickle weights"):
            load()
    policy = VLMPolicy.from_pretrained(tiny_llava_dir, dtype="bfloat16")  # the frames' pixels follow the model
    assert policy.device.type == auto_device and policy(np.zeros((64, 64, 3), np.uint8))[0].probs.shape == (1, 5)
    judge = VLMYesNoReward.from_pretrained(tiny_llava_dir, goal="x")
    assert judge.policy.device.type == auto_device


@pytest.mark.skipif(torch.cuda.is_available(), reason="asks for CUDA where there is none")
def test_loaders_on_cuda_without_cuda_are_an_error(tiny_llava_dir):
    from rlsuite.vision.policies import load_vlm

    for load in (lambda: load_vlm(tiny_llava_dir, device="cuda"),
                 lambda: VLMPolicy.from_pretrained(tiny_llava_dir, device="cuda"),
                 lambda: VLMYesNoReward.from_pretrained(tiny_llava_dir, goal="x", device="cuda")):  # fmt: skip
        with pytest.raises(ValueError, match="cuda"):
            load()


def test_a_model_type_with_custom_code_names_its_files(tmp_path):
    import json

    from rlsuite.common.errors import UsageError
    from rlsuite.vision.policies import vlm_auto_class

    (tmp_path / "config.json").write_text(json.dumps(
        {"model_type": "not_in_transformers", "auto_map": {"AutoModelForCausalLM": "modeling_x.XForCausalLM"}}))
    with pytest.raises(UsageError, match=r"runs custom code from the folder \(modeling_x.py\)"):
        vlm_auto_class(tmp_path)
    import transformers

    assert vlm_auto_class(tmp_path, trust_remote_code=True) is transformers.AutoModelForCausalLM


def test_repeat_rows_repeats_flattened_patches_image_by_image():
    from rlsuite.vision.policies import _repeat_rows

    grid = torch.tensor([[1, 2, 2], [1, 2, 4]])  # 4 and 8 patches
    pixels = torch.arange(12 * 3).reshape(12, 3)
    ids = torch.tensor([[1, 2], [3, 4]])
    out = _repeat_rows({"pixel_values": pixels, "image_grid_thw": grid, "input_ids": ids}, 2, 2)
    torch.testing.assert_close(out["pixel_values"], torch.cat([pixels[:4], pixels[:4], pixels[4:], pixels[4:]]))
    torch.testing.assert_close(out["image_grid_thw"], grid.repeat_interleave(2, 0))
    torch.testing.assert_close(out["input_ids"], torch.tensor([[1, 2], [1, 2], [3, 4], [3, 4]]))
    with pytest.raises(ValueError, match="processor output 'pixel_values' has 12 rows for 2 frames"):
        _repeat_rows({"pixel_values": pixels, "input_ids": ids}, 2, 2)


def test_prompts_spell_the_image_token_of_the_processor():
    from types import SimpleNamespace

    own = SimpleNamespace(processor=SimpleNamespace(image_token="<img>"), prompt=GOAL_PROMPT)
    expected = GOAL_PROMPT.format(instruction="go left").replace("<image>", "<img>")
    assert VLMPolicy._prompt_for(own, "go left") == expected
    plain = SimpleNamespace(processor=SimpleNamespace(image_token=None), prompt=GOAL_PROMPT)
    assert VLMPolicy._prompt_for(plain, "go") == GOAL_PROMPT.format(instruction="go")


def test_goal_prompts_of_different_lengths_are_padded_into_one_batch(tiny_llava_dir, frames):
    policy = VLMPolicy.from_pretrained(tiny_llava_dir, device="cpu", prompt=GOAL_PROMPT)
    obs = {"image": frames[:2], "instruction": ["go to the target", "reach the target cell in the corner"]}
    with torch.no_grad():
        both = policy(obs)[0].logits
        one = policy({"image": frames[1], "instruction": obs["instruction"][1]})[0].logits
    torch.testing.assert_close(both[1:], one, atol=1e-4, rtol=1e-4)


def test_teacher_forcing_masks_padding_and_reads_the_prompts_last_hidden_state():
    """Actions of one and two tokens: the padded position adds 0 (not nan), and the value reads the last
    layer's hidden state at the prompt's last token (a 2-layer model: not the first layer's)."""
    torch.manual_seed(0)
    model, processor = build_tiny_llava(hidden=32, layers=2)
    policy = VLMPolicy(model, processor, actions=["up", "move right"], device="cpu")
    frame = np.zeros((64, 64, 3), np.uint8)
    with torch.no_grad():
        dist, value = policy(frame)
        enc = policy._encode([frame], [policy.prompt])
        out = model(**enc, output_hidden_states=True)
    assert torch.isfinite(dist.logits).all()
    torch.testing.assert_close(value, policy.value_head(out.hidden_states[-1][:, -1].float())[:, 0], atol=1e-5,
                               rtol=1e-5)  # fmt: skip


def test_yes_no_goal_text_keeps_its_braces_out_of_the_template(tiny_llava_dir):
    judge = VLMYesNoReward.from_pretrained(tiny_llava_dir, goal="reach {the} target", device="cpu")
    assert judge.goal == "reach {the} target"
    assert judge.policy.prompt == "<image> question : has the goal reach (the) target been achieved ? answer :"


def test_single_token_scoring_reads_the_last_layers_last_position_and_skips_validation():
    torch.manual_seed(0)
    model, processor = build_tiny_llava(hidden=32, layers=2)
    policy = VLMPolicy(model, processor, actions="up", device="cpu")  # one word, not its letters
    assert policy.actions == ["up"] and tuple(policy.value_head.weight.shape) == (1, 32)
    policy = VLMPolicy(model, processor, device="cpu")
    frame = np.zeros((64, 64, 3), np.uint8)
    with torch.no_grad():
        dist, value = policy(frame)
        out = model(**policy._encode([frame], [policy.prompt]), output_hidden_states=True)
    torch.testing.assert_close(value, policy.value_head(out.hidden_states[-1][:, -1].float())[:, 0], atol=1e-6,
                               rtol=1e-6)  # fmt: skip
    with pytest.raises(RuntimeError):  # validate_args=False: an action outside the vocabulary is not checked first
        dist.log_prob(torch.tensor([7]))
    with pytest.raises(ValueError, match=r"^actions: an empty list; a policy needs at least one action word$"):
        VLMPolicy(model, processor, actions=[])


def test_dict_observations_fill_the_instruction_or_leave_it_empty(tiny_llava_dir, frames):
    policy = VLMPolicy.from_pretrained(tiny_llava_dir, device="cpu", prompt=GOAL_PROMPT)
    _, prompts = policy._frames_and_prompts({"image": frames[:2], "instruction": ["go up", "go left"]})
    assert prompts == [GOAL_PROMPT.format(instruction=i) for i in ("go up", "go left")]
    _, prompts = policy._frames_and_prompts({"image": frames[0]})
    assert prompts == [GOAL_PROMPT.format(instruction="")]
    _, prompts = policy._frames_and_prompts(frames[:1])
    assert prompts == [GOAL_PROMPT.format(instruction="")]
    with pytest.raises(ValueError, match=r"^observation\['image'\]: a grey frame"):
        policy._frames_and_prompts({"image": np.zeros((4, 4))})


def test_processor_checks_without_an_image_token_or_a_dict(tiny_llava_dir, tmp_path):
    import shutil
    from types import SimpleNamespace

    from rlsuite.vision.policies import _check_processor_class, load_vlm

    bare = SimpleNamespace(processor=SimpleNamespace(), prompt=GOAL_PROMPT)  # no image_token attribute at all
    assert VLMPolicy._prompt_for(bare, "go") == GOAL_PROMPT.format(instruction="go")
    folder = tmp_path / "list"
    shutil.copytree(tiny_llava_dir, folder)
    (folder / "processor_config.json").write_text("[1, 2]")  # valid JSON, not settings: nothing to check
    _check_processor_class(folder, False)
    trusted = _copy_with_processor_class(tiny_llava_dir, tmp_path / "t", "NoSuchProcessor")
    load_vlm(trusted, trust_remote_code=True, device="cpu")  # trusted: not refused, left to the folder's code
