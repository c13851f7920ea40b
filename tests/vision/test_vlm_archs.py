"""VLMPolicy and VLMYesNoReward on each tiny VLM architecture, built from configs, saved and reloaded."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

import rlsuite.envs  # noqa: F401
from rlsuite.common.errors import UsageError
from rlsuite.testing.vision_models import build_tiny_idefics3, build_tiny_kimi_k25, build_tiny_qwen2_vl, save_tiny_vlm
from rlsuite.vision.models import build_tiny_llava
from rlsuite.vision.policies import GOAL_PROMPT, VLMPolicy, VLMYesNoReward, parse_action

BUILDERS = {
    "llava": build_tiny_llava,
    "idefics3": build_tiny_idefics3,
    "qwen2_vl": build_tiny_qwen2_vl,
    "kimi_k25": build_tiny_kimi_k25,
}
MODEL_CLASSES = {
    "llava": "LlavaForConditionalGeneration",
    "idefics3": "Idefics3ForConditionalGeneration",
    "qwen2_vl": "Qwen2VLForConditionalGeneration",
    "kimi_k25": "Kimi_K25ForConditionalGeneration",
}
MULTI_TOKEN = ["move up", "move right", "move down", "move left", "stay here"]


@pytest.fixture(scope="module", params=sorted(BUILDERS))
def vlm_dir(request, tmp_path_factory):
    return request.param, save_tiny_vlm(request.param, tmp_path_factory.mktemp(f"tiny-{request.param}"))


@pytest.fixture(scope="module")
def frames():
    env = gym.make("rlsuite/PixelGridWorldRandom-v0")
    return np.stack([env.reset(seed=s)[0] for s in range(2)])


def manual_log_probs(policy: VLMPolicy, frame: np.ndarray, prompt: str) -> torch.Tensor:
    """Per action, one frame: a separate forward pass on prompt + action tokens, summed log-probs."""
    enc = policy._encode([frame], [prompt])
    scores = []
    for ids in policy._action_ids:
        inputs = dict(enc)
        for k, v in enc.items():  # token-aligned inputs (mm_token_type_ids: text is 0) grow by the action
            if v.ndim == 2 and v.shape == enc["input_ids"].shape:
                inputs[k] = torch.cat([v, torch.zeros((1, len(ids)), dtype=v.dtype)], dim=1)
        inputs["input_ids"][0, -len(ids) :] = torch.tensor(ids)
        inputs["attention_mask"] = torch.ones_like(inputs["input_ids"])
        logits = policy.model(**inputs).logits
        lp = torch.log_softmax(logits[0, -len(ids) - 1 : -1].float(), -1)
        scores.append(lp[torch.arange(len(ids)), torch.tensor(ids)].sum())
    return torch.stack(scores)


@pytest.mark.parametrize("actions", [None, MULTI_TOKEN], ids=["one-token", "multi-token"])
def test_scores_are_a_batched_differentiable_categorical(vlm_dir, frames, actions):
    arch, folder = vlm_dir
    kwargs = {} if actions is None else {"actions": actions}
    policy = VLMPolicy.from_pretrained(folder, device="cpu", **kwargs)
    assert type(policy.model).__name__ == MODEL_CLASSES[arch]
    dist, value = policy(frames)
    assert isinstance(dist, torch.distributions.Categorical)
    assert dist.probs.shape == (2, 5) and value.shape == (2,)
    torch.testing.assert_close(dist.probs.sum(-1), torch.ones(2))
    (dist.log_prob(torch.tensor([0, 3])).sum() + value.sum()).backward()
    assert policy.model.get_input_embeddings().weight.grad.abs().sum() > 0
    assert policy.value_head.weight.grad.abs().sum() > 0
    with torch.no_grad():
        prompt = policy._frames_and_prompts(frames[0])[1][0]
        for b in range(2):
            manual = torch.log_softmax(manual_log_probs(policy, frames[b], prompt), -1)
            torch.testing.assert_close(dist.logits[b].detach(), manual, atol=1e-4, rtol=1e-4)


def test_predict_and_generation(vlm_dir, frames):
    policy = VLMPolicy.from_pretrained(vlm_dir[1], device="cpu")
    a, state = policy.predict(frames[0])
    assert state is None and 0 <= int(a) < 5
    batch, _ = policy.predict(frames, deterministic=False)
    assert batch.shape == (2,) and ((batch >= 0) & (batch < 5)).all()
    actions, texts = policy.generate_actions(frames, max_new_tokens=3)
    assert len(actions) == len(texts) == 2
    for action, text in zip(actions, texts, strict=True):
        assert isinstance(text, str) and action == parse_action(text)
        assert action is None or 0 <= action < 5


def test_yes_no_reward_is_the_log_odds(vlm_dir, frames):
    judge = VLMYesNoReward.from_pretrained(vlm_dir[1], goal="the agent is on the target", device="cpu")
    r = judge.rewards(frames)
    assert r.shape == (2,)
    prompt = judge.policy._frames_and_prompts(frames[0])[1][0]
    assert "the agent is on the target" in prompt
    tok = judge.policy.processor.tokenizer
    yes, no = tok.convert_tokens_to_ids("yes"), tok.convert_tokens_to_ids("no")
    with torch.no_grad():
        for b in range(2):
            enc = judge.policy._encode([frames[b]], [prompt])
            lp = torch.log_softmax(judge.policy.model(**enc).logits[0, -1].float(), -1)
            np.testing.assert_allclose(r[b], (lp[yes] - lp[no]).item(), atol=1e-4)


def test_padded_goal_prompts_batch_like_single_frames(vlm_dir, tmp_path):
    """Instructions of different lengths are left-padded in one batch; scores match frame by frame."""
    policy = VLMPolicy.from_pretrained(vlm_dir[1], device="cpu", prompt=GOAL_PROMPT)
    env = gym.make("rlsuite/PixelGoalGridWorld-v0")
    obs = env.reset(seed=0)[0]
    images = np.stack([obs["image"], obs["image"]])
    batch = {"image": images, "instruction": ["go to the red square", "go up"]}
    with torch.no_grad():
        dist, value = policy(batch)
        for b in range(2):
            one, v = policy({"image": images[b], "instruction": batch["instruction"][b]})
            torch.testing.assert_close(dist.logits[b], one.logits[0], atol=1e-4, rtol=1e-4)
            torch.testing.assert_close(value[b], v[0], atol=1e-4, rtol=1e-4)
    torch.nn.init.constant_(policy.value_head.bias, 3.0)
    policy.save_pretrained(tmp_path)
    again = VLMPolicy.from_pretrained(tmp_path, device="cpu", prompt=GOAL_PROMPT)
    with torch.no_grad():
        torch.testing.assert_close(again(batch)[0].logits, policy(batch)[0].logits)
        torch.testing.assert_close(again(batch)[1], policy(batch)[1])


def test_qwen2_vl_processor_fallback_counts_image_tokens(frames):
    _, processor = build_tiny_qwen2_vl(hidden=32, layers=1)
    enc = processor(images=list(frames), text=["<image> go up", "<image> go"])
    per_image = int(enc["image_grid_thw"][0].prod()) // 4  # merged 2x2 patches: 25 for 80x80 frames
    assert per_image == 25
    assert enc["mm_token_type_ids"].sum(1).tolist() == [per_image, per_image]
    assert (enc["mm_token_type_ids"] == (enc["input_ids"] == processor.image_token_id)).all()
    with pytest.raises(ValueError, match="2 images but 1"):
        processor(images=list(frames), text=["<image> go up", "go"])


def test_kimi_k25_pil_image_processor_patches_like_the_model_expects(frames, tmp_path):
    """80x80 frames: 10x10 patches of 8 px, row-major, each [3, 8, 8] of the normalised frame; 25 tokens."""
    _, processor = build_tiny_kimi_k25(hidden=32, layers=1)
    enc = processor(images=list(frames), text=["<image> go up", "<image> go"])
    assert "mm_token_type_ids" not in enc  # Kimi_K25Processor does not return them; its generate rejects them
    assert enc["image_grid_thw"].tolist() == [[1, 10, 10], [1, 10, 10]]
    assert enc["pixel_values"].shape == (200, 3, 8, 8)
    assert (enc["input_ids"] == processor.image_token_id).sum(1).tolist() == [25, 25]
    norm = (frames[1].astype(np.float32) / 255 - 0.5) / 0.5  # IMAGENET_STANDARD mean/std
    r, c = 3, 7  # patch (row 3, column 7) of the second frame
    expected = norm[8 * r : 8 * r + 8, 8 * c : 8 * c + 8].transpose(2, 0, 1)
    np.testing.assert_allclose(enc["pixel_values"][100 + 10 * r + c].numpy(), expected, atol=1e-6)
    odd = processor.image_processor(images=[frames[0][:70, :50]], return_tensors="pt")  # padded to 80x64
    assert odd["image_grid_thw"].tolist() == [[1, 10, 8]]
    processor.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "preprocessor_config.json").read_text())
    assert saved["image_processor_type"] == "Kimi_K25ImageProcessor"  # loads with transformers' own class too


# A custom VLM in the shape of Kimi-VL's hub folder: model type "kimi_vl" unknown to transformers,
# config.json's auto_map naming configuration_/modeling_ files beside the weights (Kimi-VL's names
# AutoConfig, AutoModel and AutoModelForCausalLM, not AutoModelForImageTextToText).
REMOTE_CONFIG = """from transformers import LlavaConfig


class KimiVLConfig(LlavaConfig):
    model_type = "kimi_vl"
"""
REMOTE_MODELING = """from transformers import LlavaForConditionalGeneration

from .configuration_kimi_vl import KimiVLConfig


class KimiVLForConditionalGeneration(LlavaForConditionalGeneration):
    config_class = KimiVLConfig
"""


@pytest.fixture
def remote_code_dir(tmp_path, monkeypatch):
    import sys

    import transformers.dynamic_module_utils as dynamic

    monkeypatch.setattr(dynamic, "HF_MODULES_CACHE", str(tmp_path / "modules"))  # not ~/.cache
    monkeypatch.setattr(sys, "path", list(sys.path))
    folder = tmp_path / "kimi-vl-tiny"
    torch.manual_seed(0)
    model, processor = build_tiny_llava(hidden=32, layers=1)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    # Llava saves its legacy "language_model.lm_head" key and renames it on load by model type;
    # a custom type gets no such rename, so store the weights in the class's own layout.
    weights = load_file(folder / "model.safetensors")
    weights["lm_head.weight"] = weights.pop("language_model.lm_head.weight")
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
    (folder / "configuration_kimi_vl.py").write_text(REMOTE_CONFIG)
    (folder / "modeling_kimi_vl.py").write_text(REMOTE_MODELING)
    config = json.loads((folder / "config.json").read_text())
    config.update(
        model_type="kimi_vl",
        architectures=["KimiVLForConditionalGeneration"],
        auto_map={
            "AutoConfig": "configuration_kimi_vl.KimiVLConfig",
            "AutoModel": "modeling_kimi_vl.KimiVLForConditionalGeneration",
            "AutoModelForCausalLM": "modeling_kimi_vl.KimiVLForConditionalGeneration",
        },
    )
    (folder / "config.json").write_text(json.dumps(config))
    return folder, model


def test_remote_code_vlm_needs_an_explicit_trust_remote_code(remote_code_dir, frames):
    folder, reference = remote_code_dir
    with pytest.raises(UsageError) as err:
        VLMPolicy.from_pretrained(folder, device="cpu")
    message = str(err.value)
    assert "\n" not in message and str(folder) in message and "trust_remote_code=True" in message
    assert "configuration_kimi_vl.py" in message and "modeling_kimi_vl.py" in message
    with pytest.raises(UsageError, match="trust_remote_code=True"):
        VLMYesNoReward.from_pretrained(folder, goal="the agent is on the target", device="cpu")

    policy = VLMPolicy.from_pretrained(folder, trust_remote_code=True, device="cpu")
    assert type(policy.model).__name__ == "KimiVLForConditionalGeneration"
    assert type(policy.model).__module__.startswith("transformers_modules.")  # the folder's code, not Llava's
    assert policy.model.config.model_type == "kimi_vl"
    dist, value = policy(frames)
    assert dist.probs.shape == (2, 5) and value.shape == (2,)
    with torch.no_grad():  # the same weights as the Llava they were saved from
        enc = policy._encode(list(frames), policy._frames_and_prompts(frames)[1])
        torch.testing.assert_close(policy.model(**enc).logits, reference(**enc).logits)


def test_cli_eval_vlm_runs_remote_code_only_with_the_flag(remote_code_dir, capsys):
    from rlsuite.app.cli import main

    folder = str(remote_code_dir[0])
    assert main(["vision", "eval-vlm", folder, "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--trust-remote-code" in err and folder in err
    args = ["vision", "eval-vlm", folder, "--trust-remote-code", "--episodes", "2", "--size", "3"]
    assert main([*args, "--device", "cpu"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("success ") and out.endswith(f"KimiVLForConditionalGeneration from {folder}")
    assert "on 2 held-out random 3x3 layouts" in out


PROJECTORS = {
    "llava": ["model.multi_modal_projector.linear_1", "model.multi_modal_projector.linear_2"],
    "idefics3": ["model.connector.modality_projection.proj"],
    "qwen2_vl": ["model.visual.merger.mlp.0", "model.visual.merger.mlp.2"],
}


def test_lora_adapts_every_linear_layer_but_the_output_layer(vlm_dir):
    """LoRA (peft "all-linear") adapts the vision tower, the projector between vision and language (Llava's
    multi_modal_projector, Idefics3's connector, Qwen2-VL's merger) and the language model; only the output
    layer (lm_head) and the non-linear weights (norms, embeddings, patch convolutions) stay frozen."""
    from rlsuite.vision.adapters import VLMModelOptions, add_lora
    from rlsuite.vision.policies import load_vlm

    arch, folder = vlm_dir
    model, _, _, _ = load_vlm(folder, dtype="float32", device="cpu")
    linear = {name for name, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
    output = {name for name, m in model.named_modules() if m is model.get_output_embeddings()}
    peft_model = add_lora(model, VLMModelOptions(finetune="lora"))
    adapted = {n.removeprefix("base_model.model.").split(".lora_A")[0] for n, _ in peft_model.named_parameters()
               if ".lora_A." in n}  # fmt: skip
    assert output == {"lm_head"} and adapted == linear - output
    assert set(PROJECTORS.get(arch, [])) <= adapted
    trainable = {n for n, p in peft_model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)
