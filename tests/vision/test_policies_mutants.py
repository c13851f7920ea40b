"""VLMPolicy's teacher forcing and the yes/no reward, checked exactly (mutation-testing survivors)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_vlm_archs import remote_code_dir  # noqa: F401  (the fixture: a Kimi-VL-shaped folder with custom code)

from rlsuite.common.errors import UsageError
from rlsuite.testing.vision_models import build_tiny_qwen2_vl
from rlsuite.vision.models import build_tiny_llava
from rlsuite.vision.policies import VLMPolicy, VLMYesNoReward


def _frames(n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(n, 80, 80, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def qwen() -> tuple[torch.nn.Module, object]:
    torch.manual_seed(0)
    model, processor = build_tiny_qwen2_vl(hidden=32, layers=1)
    return model.eval(), processor


def _reference_log_probs(policy: VLMPolicy, frame: np.ndarray, action: str) -> float:
    """log p(action | prompt) from one unpadded pass over the prompt and the action as one text."""
    prompt = policy._prompt_for("")
    whole = policy._encode([frame], [prompt + " " + action])
    n = len(policy.processor.tokenizer(" " + action, add_special_tokens=False)["input_ids"])
    logits = policy.model(**whole).logits[0].float()
    logp = torch.log_softmax(logits[-n - 1 : -1], dim=-1)
    return float(logp.gather(-1, whole["input_ids"][0, -n:, None]).sum())


def test_multi_token_actions_on_qwen2_vl_grow_only_the_token_aligned_inputs(qwen) -> None:
    """Qwen2-VL's inputs: flattened patches and the image grid (2-D, not one column per token) stay as they
    are; input_ids, attention_mask and mm_token_type_ids (zeros: text) grow by the actions' tokens. Each
    action's score equals its log-prob in one unpadded pass over the prompt followed by the action."""
    model, processor = qwen
    policy = VLMPolicy(model, processor, actions=["up", "move right", "stay"], device="cpu")
    assert [len(ids) for ids in policy._action_ids] == [1, 2, 1]
    frames = _frames(2)
    enc = policy._encode(list(frames), [policy._prompt_for("")] * 2)
    assert {"pixel_values", "image_grid_thw", "mm_token_type_ids"} <= set(enc)
    with torch.no_grad():
        dist, _ = policy(frames)
        expected = torch.tensor([[_reference_log_probs(policy, f, a) for a in policy.actions] for f in frames])
    torch.testing.assert_close(dist.logits, torch.log_softmax(expected, -1), atol=1e-4, rtol=1e-4)


def test_teacher_forcing_takes_continuation_tokens_from_the_host_and_a_float_mask(qwen) -> None:
    """Continuation tokens given on the host, or a float mask, join the prompt's inputs on the policy's device
    in the prompt's dtype: the log-probs equal those of long tensors on the device."""
    from cuda_sim import cuda_or_simulated

    model, processor = qwen
    frames = _frames(2)
    cont = torch.tensor([[5, 6, 0], [7, 0, 0]])
    cmask = torch.tensor([[1, 1, 0], [1, 0, 0]])
    cpu = VLMPolicy(model, processor, device="cpu")
    with torch.no_grad():
        enc = cpu._encode(list(frames), [cpu._prompt_for("")] * 2)
        expected, hidden = cpu.continuation_log_probs(enc, cont, cmask)
        seen: list[dict[str, torch.dtype]] = []
        hook = model.register_forward_pre_hook(
            lambda module, args, kwargs: seen.append({k: v.dtype for k, v in kwargs.items() if k in enc}),
            with_kwargs=True,
        )
        try:
            as_float, _ = cpu.continuation_log_probs(enc, cont, cmask.float())
        finally:
            hook.remove()
    torch.testing.assert_close(as_float, expected, rtol=0, atol=0)
    assert seen == [{k: v.dtype for k, v in enc.items()}]  # the mask's float dtype reaches no input
    assert (expected[cmask == 0] == 0).all() and (expected[cmask == 1] < 0).all()
    with cuda_or_simulated(), torch.no_grad():
        model.to("cuda")
        try:
            gpu = VLMPolicy(model, processor, device="cuda")
            enc = gpu._encode(list(frames), [gpu._prompt_for("")] * 2)
            got, got_hidden = gpu.continuation_log_probs(enc, cont, cmask.to("cuda"))
            assert got.device.type == "cuda"
            got, got_hidden = got.cpu(), got_hidden.cpu()
        finally:
            model.to("cpu")
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(got_hidden, hidden, atol=1e-5, rtol=1e-5)


def test_the_yes_no_reward_scores_the_words_yes_and_no() -> None:
    torch.manual_seed(0)
    model, processor = build_tiny_llava(hidden=32, layers=1)
    judge = VLMYesNoReward(model, processor, goal="reach the target")
    assert judge.policy.actions == ["yes", "no"]
    tok = processor.tokenizer
    assert judge.policy._action_ids == [tok(" yes", add_special_tokens=False)["input_ids"],
                                        tok(" no", add_special_tokens=False)["input_ids"]]  # fmt: skip


def test_the_yes_no_reward_loads_a_custom_code_folder_only_when_trusted(remote_code_dir) -> None:  # noqa: F811
    folder, _ = remote_code_dir
    with pytest.raises(UsageError, match="trust_remote_code=True"):
        VLMYesNoReward.from_pretrained(folder, goal="x", device="cpu")
    judge = VLMYesNoReward.from_pretrained(folder, goal="x", trust_remote_code=True, device="cpu")
    assert type(judge.policy.model).__name__ == "KimiVLForConditionalGeneration"
    with pytest.raises(UsageError, match="trust_remote_code=True"):
        VLMPolicy.from_pretrained(folder, device="cpu")
    policy = VLMPolicy.from_pretrained(folder, trust_remote_code=True, device="cpu")
    assert type(policy.model).__name__ == "KimiVLForConditionalGeneration"


def test_a_loaded_policy_keeps_the_device_as_resolved_and_its_value_head_there(tmp_path) -> None:
    """``device="cuda"`` resolves to ``cuda`` (not the parameters' ``cuda:0``); the saved value head is loaded
    onto it (simulated CUDA where there is none)."""
    from cuda_sim import cuda_or_simulated

    torch.manual_seed(0)
    model, processor = build_tiny_llava(hidden=32, layers=1)
    saved = VLMPolicy(model, processor, device="cpu")
    torch.nn.init.normal_(saved.value_head.weight)
    saved.save_pretrained(tmp_path)
    with cuda_or_simulated():
        policy = VLMPolicy.from_pretrained(tmp_path, device="cuda")
        assert policy.device == torch.device("cuda") and next(policy.model.parameters()).device.type == "cuda"
        assert policy.value_head.weight.device.type == "cuda"
        weight = policy.value_head.weight.detach().cpu()
    torch.testing.assert_close(weight, saved.value_head.weight.detach(), rtol=0, atol=0)


def test_custom_code_is_named_by_its_files(tmp_path) -> None:
    """Every file auto_map names (a list entry too, a repository prefix dropped, None skipped), once, sorted."""
    import json

    from rlsuite.vision.policies import vlm_auto_class

    auto_map = {
        "AutoConfig": "configuration_x.XConfig",
        "AutoModelForCausalLM": "org/repo--modeling_x.XForCausalLM",
        "AutoTokenizer": ["tokenization_x.XTokenizer", None],
        "AutoModel": "modeling_x.XModel",
    }
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "not_in_transformers", "auto_map": auto_map}))
    files = "configuration_x.py, modeling_x.py, tokenization_x.py"
    with pytest.raises(UsageError, match=rf"runs custom code from the folder \({files}\); pass trust_remote_code"):
        vlm_auto_class(tmp_path)


def test_the_policys_processor_is_the_pil_one_asked_for(tmp_path, monkeypatch) -> None:
    """``backend="pil"``: no fallback from another backend (transformers says so once per message: every
    message is kept here)."""
    import logging

    torch.manual_seed(0)
    model, processor = build_tiny_llava(hidden=32, layers=1)
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    said: list[str] = []
    monkeypatch.setattr(logging.Logger, "warning_once", lambda self, msg, *a, **k: said.append(str(msg)))
    policy = VLMPolicy.from_pretrained(tmp_path, device="cpu")
    assert type(policy.processor.image_processor).__name__.endswith("ImageProcessorPil")
    assert not [m for m in said if "backend" in m]


def test_a_custom_processor_loads_only_when_trusted(remote_code_dir) -> None:  # noqa: F811
    """A folder whose processor is custom code too (auto_map in processor_config.json): trust reaches the
    processor's loader as well as the model's."""
    import json

    folder = remote_code_dir[0]  # made for this test alone
    (folder / "processing_kimi_vl.py").write_text(
        "from transformers import LlavaProcessor\n\n\nclass KimiVLProcessor(LlavaProcessor):\n    pass\n"
    )
    path = folder / "processor_config.json"
    settings = json.loads(path.read_text()) if path.is_file() else {}
    settings.update(processor_class="KimiVLProcessor", auto_map={"AutoProcessor": "processing_kimi_vl.KimiVLProcessor"})
    path.write_text(json.dumps(settings))
    from rlsuite.common.errors import ModelFolderError

    with pytest.raises(ModelFolderError, match="processor_class 'KimiVLProcessor' is not a processor transformers"):
        VLMPolicy.from_pretrained(folder, device="cpu")
    policy = VLMPolicy.from_pretrained(folder, trust_remote_code=True, device="cpu")
    assert type(policy.processor).__name__ == "KimiVLProcessor"


def test_encoded_inputs_go_to_the_policys_device_and_floats_to_the_models_dtype() -> None:
    """On CUDA (simulated where there is none) the scores equal the CPU's; a bfloat16 model receives its
    pixels in bfloat16 (and its token ids as they are)."""
    from cuda_sim import cuda_or_simulated

    torch.manual_seed(0)
    model, processor = build_tiny_llava(hidden=32, layers=1)
    frames = _frames(2)[:, :64, :64]
    policy = VLMPolicy(model, processor, device="cpu")
    with torch.no_grad():
        expected = policy(frames)[0].logits
    with cuda_or_simulated(), torch.no_grad():
        model.to("cuda")
        try:
            got = VLMPolicy(model, processor, device="cuda")(frames)[0].logits.cpu()
        finally:
            model.to("cpu")
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    model.to(torch.bfloat16)
    seen: list[dict[str, torch.dtype]] = []
    model.register_forward_pre_hook(
        lambda module, args, kwargs: seen.append({k: v.dtype for k, v in kwargs.items() if torch.is_tensor(v)}),
        with_kwargs=True,
    )
    with torch.no_grad():
        VLMPolicy(model, processor, device="cpu")(frames)
    assert seen[0]["pixel_values"] == torch.bfloat16 and seen[0]["input_ids"] == torch.long


def test_multi_token_scoring_on_cuda_builds_its_continuations_there() -> None:
    """Actions of several tokens on CUDA (simulated where there is none): the continuations and their mask are
    made on the device (no device value is written into a host tensor, which would make the host wait) and the
    scores equal the CPU's."""
    from cuda_sim import count_syncs, cuda_or_simulated

    torch.manual_seed(0)
    model, processor = build_tiny_llava(hidden=32, layers=1)
    frames = _frames(2)[:, :64, :64]
    actions = ["up", "move right", "stay here now"]
    with torch.no_grad():
        expected = VLMPolicy(model, processor, actions=actions, device="cpu")(frames)[0].logits
    with cuda_or_simulated(), torch.no_grad():
        model.to("cuda")
        try:
            policy = VLMPolicy(model, processor, actions=actions, device="cuda")
            with count_syncs() as syncs:
                logits = policy(frames)[0].logits
            got = logits.cpu()
        finally:
            model.to("cpu")
    assert syncs["setitem into cpu"] == syncs["copy_ into cpu"] == 0, syncs
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_the_image_text_processors_defaults_give_padded_torch_tensors_and_the_image_token_types(qwen) -> None:
    """Called with images and text only: torch tensors, prompts of different lengths padded into one batch, and
    ``mm_token_type_ids`` (1 on the image's tokens) unless asked not to add them."""
    _, processor = qwen
    frames = list(_frames(2))
    image = processor.image_token
    out = processor(images=frames, text=[image + " up", image + " go to the target"])
    assert isinstance(out["input_ids"], torch.Tensor) and out["input_ids"].shape[0] == 2
    assert out["attention_mask"][0].sum() < out["attention_mask"][1].sum()  # the shorter prompt is padded
    torch.testing.assert_close(out["mm_token_type_ids"], (out["input_ids"] == processor.image_token_id).long())
    assert int(out["mm_token_type_ids"].sum()) == 2 * 25  # 25 merged patches per 80x80 frame
    from rlsuite.vision.policies import ImageTextProcessor

    plain = ImageTextProcessor(processor.image_processor, processor.tokenizer, return_mm_token_type_ids=False)
    assert "mm_token_type_ids" not in plain(images=frames[:1], text=[image + " up"])
    assert "mm_token_type_ids" in ImageTextProcessor(processor.image_processor, processor.tokenizer)(
        images=frames[:1], text=[image + " up"]
    )
